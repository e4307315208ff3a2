// Drives Debian's Chromium with puppeteer-core for tests/ui/browser.py: one browser per
// process, commands as JSON lines on stdin, one JSON line answer each on stdout.
//
// Usage: node driver.mjs CHROMIUM_PATH USER_DATA_DIR
// Commands ({"id": n, "op": ..., ...}); every answer is {"id": n, "ok": true, ...} or
// {"id": n, "ok": false, "error": "..."}:
//   open {url}                  a page in a fresh browser context (its own storage) -> {page}
//   goto {page, url} | reload {page}
//   click {page, selector} | type {page, selector, text}
//   waitFor {page, expression, timeoutMs}   until the page expression is truthy
//   snapshot {page}             the chat as the page shows it now -> {snapshot}
//   timeline {page}             every distinct snapshot since load, with times -> {timeline}
//   events {page}               console errors, page errors, failed requests, requests made
//   screenshot {page, path} | close {page} | quit
import puppeteer from "puppeteer-core";
import { createInterface } from "node:readline";

const [executablePath, userDataDir] = process.argv.slice(2);

// Runs in every page before its scripts: records each distinct view of the chat over time.
const OBSERVER = `(() => {
  const text = (el) => (el ? el.textContent : null);
  window.__chatSnapshot = () => ({
    status: text(document.querySelector('[data-testid="status"]')),
    thread: text(document.querySelector('[data-testid="thread"]')),
    values: text(document.querySelector('[data-testid="values"]')),
    interrupt: text(document.querySelector('[data-testid="interrupt-value"]')),
    approve: document.querySelector('[data-testid="approve"]') !== null,
    messages: [...document.querySelectorAll('[data-testid="message"]')].map((el) => ({
      type: el.dataset.type,
      id: el.dataset.id,
      content: text(el.querySelector('[data-testid="content"]')),
      toolCalls: [...el.querySelectorAll('[data-testid="tool-call"]')].map((c) => c.dataset.name),
      toolResult: text(el.querySelector('[data-testid="tool-result"]')),
    })),
  });
  window.__chatTimeline = [];
  let last = null;
  const record = () => {
    const snapshot = window.__chatSnapshot();
    const json = JSON.stringify(snapshot);
    if (json !== last) {
      last = json;
      window.__chatTimeline.push({ at: performance.timeOrigin + performance.now(), snapshot });
    }
  };
  const start = () => {
    new MutationObserver(record).observe(document.body, {
      subtree: true, childList: true, characterData: true, attributes: true,
    });
    record();
  };
  if (document.body) start(); else document.addEventListener("DOMContentLoaded", start);
})();`;

const browser = await puppeteer.launch({
  executablePath,
  userDataDir,
  headless: true,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
  ],
});

const pages = new Map(); // id -> {page, context, log}
let nextPage = 1;

async function open(url) {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  const log = { consoleErrors: [], pageErrors: [], failedResponses: [], failedRequests: [], requests: [] };
  page.on("console", (message) => {
    if (message.type() === "error") log.consoleErrors.push(message.text());
  });
  page.on("pageerror", (error) => log.pageErrors.push(String(error)));
  page.on("request", (request) => log.requests.push(`${request.method()} ${request.url()}`));
  page.on("response", (response) => {
    if (response.status() >= 400) {
      log.failedResponses.push(`${response.status()} ${response.request().method()} ${response.url()}`);
    }
  });
  page.on("requestfailed", (request) => {
    const reason = request.failure()?.errorText ?? "failed";
    log.failedRequests.push(`${reason} ${request.method()} ${request.url()}`);
  });
  await page.evaluateOnNewDocument(OBSERVER);
  await page.goto(url, { waitUntil: "load" });
  const id = nextPage++;
  pages.set(id, { page, context, log });
  return id;
}

function get(id) {
  const found = pages.get(id);
  if (!found) throw new Error(`no open page ${id}`);
  return found;
}

async function run(command) {
  switch (command.op) {
    case "open":
      return { page: await open(command.url) };
    case "goto":
      await get(command.page).page.goto(command.url, { waitUntil: "load" });
      return {};
    case "reload":
      await get(command.page).page.reload({ waitUntil: "load" });
      return {};
    case "click":
      await get(command.page).page.click(command.selector);
      return {};
    case "type":
      await get(command.page).page.type(command.selector, command.text);
      return {};
    case "waitFor": {
      const { page } = get(command.page);
      await page.waitForFunction(command.expression, { timeout: command.timeoutMs ?? 30000, polling: 20 });
      return {};
    }
    case "snapshot":
      return { snapshot: await get(command.page).page.evaluate(() => window.__chatSnapshot()) };
    case "timeline":
      return { timeline: await get(command.page).page.evaluate(() => window.__chatTimeline) };
    case "events":
      return { events: get(command.page).log };
    case "screenshot":
      await get(command.page).page.screenshot({ path: command.path, fullPage: true });
      return {};
    case "close": {
      const { context } = get(command.page);
      pages.delete(command.page);
      await context.close();
      return {};
    }
    case "quit":
      await browser.close();
      return {};
    default:
      throw new Error(`unknown op ${JSON.stringify(command.op)}`);
  }
}

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (!line.trim()) continue;
  const command = JSON.parse(line);
  let answer;
  try {
    answer = { id: command.id, ok: true, ...(await run(command)) };
  } catch (error) {
    answer = { id: command.id, ok: false, error: String(error?.stack ?? error) };
  }
  process.stdout.write(JSON.stringify(answer) + "\n");
  if (command.op === "quit") break;
}
await browser.close().catch(() => {});
process.exit(0);
