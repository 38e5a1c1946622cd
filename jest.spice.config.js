/** `npm run test:spice`: checks against ngspice (a system package .ci/run installs); not part of `npm test`. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test/spice'],
  transform: { '^.+\\.ts$': 'ts-jest' },
  testTimeout: 120000,
};
