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
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (err) {
    throw new ApiFailure(0, "network", String(err));
  }
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
