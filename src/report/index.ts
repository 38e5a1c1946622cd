/** Report building blocks: chart specs, headless rendering and tables. */
export { renderChart, writeChart } from './render';
export type { RenderedChart, RenderOptions, VegaLiteSpec } from './render';
export { lineChart } from './lineChart';
export type { LineChartOptions } from './lineChart';
export { errorBarChart } from './errorBarChart';
export type { ErrorBarChartOptions } from './errorBarChart';
export { boxPlot } from './boxPlot';
export type { BoxPlotOptions } from './boxPlot';
export { histogramWithDensity, binValues } from './histogram';
export type { Bin, HistogramOptions } from './histogram';
export { cdfChart } from './cdfChart';
export type { CdfChartOptions, CdfRow } from './cdfChart';
export { formatNumber, markdownTable, toCsv } from './tables';
