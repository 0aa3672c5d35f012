/** Reads counters from the driver's Prometheus endpoint (text exposition format). */

/** Every sample of `name` as `labels → value` (labels as written, `provider="embedded",result="ok"`). */
export async function scrapeSamples(metricsUrl: string, name: string): Promise<Map<string, number>> {
  const response = await fetch(`${metricsUrl}/metrics`);
  if (!response.ok) throw new Error(`GET ${metricsUrl}/metrics answered ${response.status}`);
  const samples = new Map<string, number>();
  for (const line of (await response.text()).split('\n')) {
    if (line.startsWith(`${name}{`)) samples.set(line.slice(name.length + 1, line.lastIndexOf('}')), Number(line.slice(line.lastIndexOf(' ') + 1)));
    else if (line.startsWith(`${name} `)) samples.set('', Number(line.slice(name.length + 1)));
  }
  return samples;
}

/** The sum over all label sets of a counter (0 when it has no samples yet). */
export async function scrapeCounterTotal(metricsUrl: string, name: string): Promise<number> {
  let total = 0;
  for (const value of (await scrapeSamples(metricsUrl, name)).values()) total += value;
  return total;
}

/** Sum and count of a histogram's samples whose labels include `labelMatch` (e.g. `operation="NodePublishVolume"`). */
export async function scrapeHistogram(metricsUrl: string, name: string, labelMatch: string): Promise<{ sum: number; count: number }> {
  const total = async (suffix: string) => {
    let value = 0;
    for (const [labels, sample] of await scrapeSamples(metricsUrl, `${name}${suffix}`)) if (labels.includes(labelMatch)) value += sample;
    return value;
  };
  return { sum: await total('_sum'), count: await total('_count') };
}

/** What every benchmark counts as a backend request: one provider fetch (a shared fetch counts once). */
export const BACKEND_FETCHES = 'credmount_backend_fetches_total';
