import { resolve } from "node:path";
import type { Page } from "playwright-core";
import { ARTIFACTS } from "./browser.js";

export const LAPTOP = { width: 1366, height: 860 };
export const PHONE = { width: 390, height: 844 };

/**
 * Leaves `<name>-{laptop,phone}-{light,dark}.png` in test/artifacts/: the
 * page as it is now, at 1366 and 390 px wide, in both colour schemes (whole
 * pages). Puts the page back at laptop size in the light scheme.
 */
export async function shootPage(page: Page, name: string): Promise<void> {
  for (const scheme of ["light", "dark"] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    for (const [size, viewport] of [["laptop", LAPTOP], ["phone", PHONE]] as const) {
      await page.setViewportSize(viewport);
      await page.screenshot({ path: resolve(ARTIFACTS, `${name}-${size}-${scheme}.png`), fullPage: true });
    }
  }
  await page.setViewportSize(LAPTOP);
  await page.emulateMedia({ colorScheme: "light" });
}
