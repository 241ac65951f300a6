// The staff session: the access token the dispatcher issued, kept in sessionStorage (gone with the tab).
// Its claims are read only to shape the interface; every service verifies the token itself.
const KEY = "console.token";

function decode(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const json = decodeURIComponent(Array.from(atob(part), (c) => `%${c.charCodeAt(0).toString(16).padStart(2, "0")}`).join(""));
    return JSON.parse(json);
  } catch {
    return null;
  }
}

export function token() {
  return sessionStorage.getItem(KEY);
}

export function claims() {
  const value = token();
  if (!value) return null;
  const c = decode(value);
  if (!c || (c.exp && c.exp * 1000 < Date.now())) {
    sessionStorage.removeItem(KEY);
    return null;
  }
  return c;
}

export function signIn(accessToken) {
  sessionStorage.setItem(KEY, accessToken);
}

export function signOut() {
  sessionStorage.removeItem(KEY);
}

export function roles() {
  return new Set(claims()?.roles ?? []);
}

export function has(...wanted) {
  const mine = roles();
  return wanted.some((r) => mine.has(r));
}

export function mustChangePassword() {
  return Boolean(claims()?.pwd_change);
}

export function staffId() {
  return claims()?.sub ?? "";
}

export function team() {
  return claims()?.team ?? null;
}
