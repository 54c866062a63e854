// TEST DOUBLE: dcvkit stand-in web viewer asset (not Amazon DCV).
//
// The real web client is opened as https://HOST:PORT/WEB_URL_PATH?authToken=TOKEN#SESSION_ID
// (AWS DCV Session Manager Developer Guide, "GetSessionConnectionData"); its HTTP transport is a
// WebSocket. This stand-in reads the same URL, asks the gateway's /standin/connect for the route
// (resolver -> DCV server -> token check), then opens noVNC's RFB client on the gateway's
// wss://HOST/standin/stream, which the gateway and the DCV server stand-in relay to the session's
// websockify bridge and x11vnc. noVNC comes from the novnc package through the novnc/ symlink.
//
// State for tests, on <html>: data-dcv-state = connecting | connected | failed | disconnected,
// data-dcv-session, data-dcv-owner, data-dcv-error (when failed). window.dcvStandin holds the RFB.
import RFB from "../novnc/core/rfb.js";

const root = document.documentElement;
const statusLine = document.getElementById("dcv-status");
const screen = document.getElementById("dcv-screen");
const authToken = new URLSearchParams(window.location.search).get("authToken") || "";
const sessionId = decodeURIComponent(window.location.hash.replace(/^#/, ""));

function describe() {
  const owner = root.dataset.dcvOwner ? ` (owner ${root.dataset.dcvOwner})` : "";
  return `TEST DOUBLE DCV viewer - session ${sessionId || "?"}${owner}`;
}

function show(state, detail) {
  root.dataset.dcvState = state;
  statusLine.textContent = `${describe()}: ${state}${detail ? ` - ${detail}` : ""}`;
}

function fail(reason) {
  root.dataset.dcvError = reason;
  show("failed", reason);
}

async function main() {
  root.dataset.dcvSession = sessionId;
  show("connecting");
  if (!sessionId || !authToken) {
    fail("the URL needs ?authToken=TOKEN#SESSION_ID");
    return;
  }
  const query = new URLSearchParams({ sessionId, authToken }).toString();
  let route;
  try {
    const response = await fetch(`/standin/connect?${query}`, { cache: "no-store" });
    route = await response.json();
  } catch (error) {
    fail(`/standin/connect: ${error}`);
    return;
  }
  if (!route.Connected) {
    fail(`hop ${route.FailedHop || "gateway"}: ${route.Error}`);
    return;
  }
  root.dataset.dcvOwner = route.User;
  show("connecting", "route checked, opening the desktop stream");

  const rfb = new RFB(screen, `wss://${window.location.host}/standin/stream?${query}`, { shared: true });
  rfb.scaleViewport = true;
  rfb.resizeSession = false;
  rfb.background = "rgb(0, 0, 0)";  // around the scaled desktop: black, like an empty display
  window.dcvStandin = { rfb, route };
  rfb.addEventListener("connect", () => show("connected"));
  rfb.addEventListener("securityfailure", (event) =>
    fail(`VNC security failure: ${event.detail.reason || event.detail.status}`));
  rfb.addEventListener("credentialsrequired", () => fail("the VNC server asked for credentials"));
  rfb.addEventListener("disconnect", () => {
    const state = root.dataset.dcvState;
    if (state === "connected") {
      show("disconnected");
    } else if (state !== "failed") {
      fail("the desktop stream closed before the desktop connected (see the gateway and DCV server logs)");
    }
  });
}

main().catch((error) => fail(String(error)));
