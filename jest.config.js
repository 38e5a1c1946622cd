/** Tests run from TypeScript sources through ts-jest (transpile only); `npm test` type-checks them first (tsconfig.test.json). */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  // test/spice needs ngspice: `npm run test:spice`, run by .ci/run after ngspice is installed.
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/spice/'],
  transform: { '^.+\\.ts$': 'ts-jest' },
  testTimeout: 120000,
};
