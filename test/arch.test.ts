import { featureCount, parseArch } from '../src/nn/arch';

describe('architecture strings', () => {
  test('mlp forms', () => {
    expect(parseArch('mlp:128x2').hidden).toEqual([128, 128]);
    expect(parseArch('mlp:256-64').hidden).toEqual([256, 64]);
    expect(parseArch('MLP:8x4').hidden).toEqual([8, 8, 8, 8]);
  });
  test('cnn forms', () => {
    const a = parseArch('cnn:c16p2-c32k5p3:h64:bn');
    expect(a.convBlocks).toEqual([
      { filters: 16, kernel: 3, pool: 2 },
      { filters: 32, kernel: 5, pool: 3 },
    ]);
    expect(a.hidden).toEqual([64]);
    expect(a.batchNorm).toBe(true);
    // 28 -> conv3 26 -> pool2 13 (x32 filters)
    expect(featureCount(parseArch('cnn:c32p2:h128'))).toBe(13 * 13 * 32);
  });
  test('paper2 heads', () => {
    expect(parseArch('paper2:depth3').hidden).toEqual([128, 256, 128]);
    expect(parseArch('paper2:width2').hiddenActivation).toBe('sigmoid');
    expect(parseArch('paper2:initial:relu').hiddenActivation).toBe('relu');
    expect(featureCount(parseArch('paper2:depth0'))).toBe(5 * 5 * 64);
  });
  test.each([
    ['mlp:128x5', /out of range 1\.\.4/],
    ['mlp:4x1', /units 4 is out of range 8\.\.1024/],
    ['cnn:c16:h64', /conv block "c16"/],
    ['cnn:c16p9:h64', /pool 9 is out of range/],
    ['cnn:c8p8-c8p8:h8', /shrinks/],
    ['paper2:huge', /unknown head/],
    ['rnn:3', /unknown family "rnn"/],
  ])('rejects %s', (text, msg) => {
    expect(() => featureCount(parseArch(text))).toThrow(msg);
  });
});
