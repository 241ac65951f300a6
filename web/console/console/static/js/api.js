// Calls the services through the console's gateway: /api/<service>/v1/<path>, with the staff token.
import * as session from "./session.js";

export class ApiFailure extends Error {
  constructor(status, code, message, details) {
    super(message || code || `HTTP ${status}`);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

let onUnauthorized = () => {};
export function whenUnauthorized(handler) {
  onUnauthorized = handler;
}

export async function api(service, path, { method = "GET", body, query } = {}) {
  const url = new URL(`/api/${service}/v1/${path.replace(/^\//, "")}`, location.origin);
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value === undefined || value === null || value === "") continue;
    for (const v of Array.isArray(value) ? value : [value]) url.searchParams.append(key, v);
  }
  const headers = { Accept: "application/json" };
  const tok = session.token();
  if (tok) headers.Authorization = `Bearer ${tok}`;
  // a FormData body (a file) goes as multipart; the browser writes its Content-Type with the boundary
  const form = typeof FormData !== "undefined" && body instanceof FormData;
  if (body !== undefined && !form) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(url, { method, headers, body: body === undefined || form ? body : JSON.stringify(body) });
  } catch (err) {
    throw new ApiFailure(0, "network", String(err));
  }
  return answer(response, path, tok);
}

/** A file from a service (an evidence file): ``{ blob, type }``; failures as {@link api}'s. */
export async function apiBlob(service, path) {
  const url = new URL(`/api/${service}/v1/${path.replace(/^\//, "")}`, location.origin);
  const headers = {};
  const tok = session.token();
  if (tok) headers.Authorization = `Bearer ${tok}`;
  let response;
  try {
    response = await fetch(url, { headers, cache: "no-store" });
  } catch (err) {
    throw new ApiFailure(0, "network", String(err));
  }
  if (!response.ok) await answer(response, path, tok);
  const blob = await response.blob();
  return { blob, type: response.headers.get("Content-Type") ?? blob.type };
}

async function answer(response, path, tok) {
  const text = await response.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = text; }
  }
  if (!response.ok) {
    const error = data && typeof data === "object" && data.error ? data.error : {};
    const failure = new ApiFailure(response.status, error.code ?? `http_${response.status}`, error.message ?? text, error.details);
    if (response.status === 401 && tok && !path.startsWith("auth/")) onUnauthorized(failure);
    throw failure;
  }
  return data;
}
