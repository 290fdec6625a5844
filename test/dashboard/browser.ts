import fs from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import type { TestResources } from '../helpers/resources';

/**
 * Debian's Chromium driven by playwright-core. The flags keep a headless Chromium from reaching for
 * Google services this machine cannot reach (each refused connection costs a start-up stall).
 */
export const CHROMIUM = process.env.STS_CHROMIUM ?? '/usr/bin/chromium';

export async function launchBrowser(r: TestResources): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: .ci/run installs it (apt-get install chromium), or set STS_CHROMIUM`);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  r.defer(() => browser.close());
  return browser;
}
