/** Tests run from TypeScript sources through ts-jest (transpile only); `npm test` type-checks them first (tsconfig.test.json). */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  transform: { '^.+\\.ts$': 'ts-jest' },
  testTimeout: 120000,
};
