/** Tests run from TypeScript sources through ts-jest; type checking is done by `npm run build`. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  transform: { '^.+\\.ts$': 'ts-jest' },
  testTimeout: 120000,
};
