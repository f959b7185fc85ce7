// The /docs page in a real browser (Debian's Chromium, headless, through
// Playwright's protocol driver), with every request that leaves 127.0.0.1
// refused: the page must work with no internet access.
//
// usage: node docs.mjs PATH/TO/userhub SCREENSHOT.png
//
// It makes a SQLite database with a tenant and an ADMIN key (the real
// binary's commands), serves it on a free port, then checks that:
//   1. `/` leads to `/docs/`;
//   2. every dialect's document is in the "Select a definition" list, and
//      once selected, every operation of that document is listed;
//   3. "Authorize" with the key, then "Try it out" on the Nevis user list,
//      answers 200 on the page;
// and saves a screenshot. Its last line is "N passed, N failed".

import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { chromium } from "playwright-core";

const [binary, screenshot] = process.argv.slice(2).map((p) => resolve(p));
if (!binary || !screenshot) {
  console.error("usage: node docs.mjs PATH/TO/userhub SCREENSHOT.png");
  process.exit(2);
}
const chromiumPath = process.env.CHROMIUM ?? "/usr/bin/chromium";
const deadline = (ms) => Date.now() + ms;

const folder = mkdtempSync(join(tmpdir(), "userhub-e2e-"));
const env = {
  ...process.env,
  DATABASE_URL: `sqlite://${join(folder, "e2e.db")}`,
  RUST_LOG: "warn,userhub_api=info",
};

function userhub(...args) {
  const run = spawnSync(binary, args, { env, encoding: "utf8" });
  if (run.status !== 0) {
    throw new Error(`userhub ${args.join(" ")}: ${run.stderr}`);
  }
  return run.stdout;
}

/** `userhub serve` on a free port; resolves to its base URL. */
function serve() {
  const server = spawn(binary, ["serve", "--bind", "127.0.0.1:0"], {
    env,
    stdio: ["ignore", "ignore", "pipe"],
  });
  const address = new Promise((ok, fail) => {
    let seen = "";
    const timer = setTimeout(() => fail(new Error(`the server did not start:\n${seen}`)), 60_000);
    server.stderr.setEncoding("utf8");
    server.stderr.on("data", (chunk) => {
      seen += chunk;
      const found = /userhub listening on (http:\/\/[0-9.:]+)/.exec(seen);
      if (found) {
        clearTimeout(timer);
        ok(found[1]);
      }
    });
    server.on("exit", (code) => fail(new Error(`the server exited (${code}):\n${seen}`)));
  });
  return { server, address };
}

let passed = 0;
let failed = 0;
async function check(name, body) {
  try {
    await body();
    passed += 1;
    console.log(`ok - ${name}`);
  } catch (error) {
    failed += 1;
    console.log(`not ok - ${name}\n  ${String(error.stack ?? error).replaceAll("\n", "\n  ")}`);
  }
}

userhub("migrate");
userhub("tenant", "create", "acme");
const key = userhub("api-key", "create", "--tenant", "acme", "--role", "ADMIN", "--label", "e2e")
  .trim()
  .split("\n")
  .pop();
const { server, address } = serve();
let browser;
try {
  const base = await address;
  console.log(`# userhub at ${base}`);
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const outside = [];
  await page.route("**/*", (route) => {
    const url = new URL(route.request().url());
    if (url.hostname === "127.0.0.1" || url.protocol === "data:") {
      return route.continue();
    }
    outside.push(url.href);
    return route.abort();
  });

  // What the page must show: each document's operations, from the server.
  const names = [];
  await check("/ leads to /docs/", async () => {
    await page.goto(`${base}/`);
    if (new URL(page.url()).pathname !== "/docs/") {
      throw new Error(`landed on ${page.url()}`);
    }
    await page.locator("select#select option").first().waitFor({ state: "attached" });
    for (const option of await page.locator("select#select option").all()) {
      names.push(await option.textContent());
    }
    if (names.length === 0) throw new Error("no definition to select");
    console.log(`# definitions: ${names.join(", ")}`);
  });

  for (const name of names) {
    await check(`${name}: every operation is listed`, async () => {
      const response = await fetch(`${base}/openapi/${name}.json`);
      const doc = await response.json();
      const expected = [];
      for (const [path, item] of Object.entries(doc.paths)) {
        for (const method of ["get", "put", "post", "delete", "patch"]) {
          if (item[method]) expected.push(`${method.toUpperCase()} ${path}`);
        }
      }
      await page.locator("select#select").selectOption({ label: name });
      const count = page.locator(".opblock");
      const until = deadline(20_000);
      while ((await count.count()) !== expected.length || !(await page.locator(".info .title").textContent())?.length) {
        if (Date.now() > until) break;
        await page.waitForTimeout(100);
      }
      const shown = [];
      for (const block of await page.locator(".opblock").all()) {
        const method = (await block.locator(".opblock-summary-method").textContent()).trim();
        const path = (await block.locator(".opblock-summary-path").getAttribute("data-path"))
          ?? (await block.locator(".opblock-summary-path").textContent()).trim();
        shown.push(`${method} ${path.replaceAll("\u200b", "")}`);
      }
      const missing = expected.filter((op) => !shown.includes(op));
      if (missing.length > 0 || shown.length !== expected.length) {
        throw new Error(`expected ${expected.length} operations, the page shows ${shown.length}; missing: ${missing.join(", ")}`);
      }
      console.log(`# ${name}: ${shown.length} operations listed`);
    });
  }

  await check("nevis: Authorize with the key, Try it out, 200", async () => {
    await page.locator("select#select").selectOption({ label: "nevis" });
    const operation = page.locator(".opblock.opblock-get", {
      has: page.locator('.opblock-summary-path[data-path="/nevis/api/v1/users"]'),
    });
    await operation.waitFor();
    await page.locator(".auth-wrapper button.authorize").click();
    await page.locator(".auth-container input").first().fill(key);
    await page.locator(".auth-btn-wrapper button.authorize").click();
    await page.locator(".auth-btn-wrapper button.btn-done").click();
    await operation.locator(".opblock-summary").click();
    await operation.locator("button.try-out__btn").click();
    await operation.locator("button.execute").click();
    const status = operation.locator(".live-responses-table .response .response-col_status");
    await status.first().waitFor({ timeout: 20_000 });
    const text = (await status.first().textContent()).trim();
    if (!text.startsWith("200")) throw new Error(`the call answered ${text}`);
    await operation.scrollIntoViewIfNeeded();
  });

  await check("nothing was fetched from outside 127.0.0.1", async () => {
    if (outside.length > 0) throw new Error(`refused: ${outside.join(", ")}`);
  });

  mkdirSync(dirname(screenshot), { recursive: true });
  await page.screenshot({ path: screenshot, fullPage: false });
  console.log(`# screenshot: ${screenshot}`);
} catch (error) {
  failed += 1;
  console.log(`not ok - the run stopped: ${error.stack ?? error}`);
} finally {
  await browser?.close();
  server.kill("SIGTERM");
  rmSync(folder, { recursive: true, force: true });
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
