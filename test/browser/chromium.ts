import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/**
 * Debian's Chromium (`apt-get install chromium`), driven by playwright-core: Playwright's own browser
 * download (`npx playwright install`) does not work on the CI machines. `.ci/run` installs it when missing.
 */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? process.env.CHROME_BIN ?? '/usr/bin/chromium';

/** The flags this machine needs: no sandbox as root, no GPU, no background calls to a network that is closed. */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
];

/** Launches Chromium, or fails with what to install: a browser test never skips silently. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium is not installed at ${CHROMIUM_PATH}, and the demo page's browser test needs it. ` +
        'Install Debian\'s package: apt-get update && apt-get install -y chromium ' +
        '(.ci/run does this in CI), or point CHROMIUM_PATH at another Chromium binary.',
    );
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
}
