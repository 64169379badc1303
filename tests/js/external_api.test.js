// Unit tests of static/external_api.js with node's own test runner (`node --test tests/js/`):
// a tiny fake DOM stands in for the browser, no dependencies.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");

/** The window the SDK lives in: records listeners so tests can deliver messages. */
const listeners = new Set();
globalThis.addEventListener = (type, fn) => { if (type === "message") listeners.add(fn); };
globalThis.removeEventListener = (type, fn) => { if (type === "message") listeners.delete(fn); };
const deliver = (event) => [...listeners].forEach((fn) => fn(event));

class FakeElement {
  constructor(tag) {
    this.tag = tag;
    this.attributes = {};
    this.style = {};
    this.children = [];
    this.parentNode = null;
    this.handlers = {};
    this.ownerDocument = globalThis.document;
    if (tag === "iframe") {
      this.sent = [];
      this.contentWindow = { postMessage: (message, origin) => this.sent.push({ message, origin }) };
    }
  }
  setAttribute(name, value) { this.attributes[name] = String(value); }
  addEventListener(type, fn) { this.handlers[type] = fn; }
  appendChild(child) { child.parentNode = this; this.children.push(child); return child; }
  removeChild(child) { this.children = this.children.filter((c) => c !== child); child.parentNode = null; }
}
globalThis.document = { createElement: (tag) => new FakeElement(tag), body: new FakeElement("body") };

const MeetingsExternalAPI = require("../../static/external_api.js");
const ORIGIN = "https://joe.reseller.tld";

function open(extra) {
  const parentNode = new FakeElement("div");
  const api = new MeetingsExternalAPI({ domain: "joe.reseller.tld", roomCode: "1234567", parentNode, name: "Ann", ...extra });
  return { api, frame: parentNode.children[0], parentNode };
}

/** A message from the meeting frame (or from `source`/`origin` when given). */
function fromMeeting(frame, data, origin = ORIGIN, source = frame.contentWindow) {
  deliver({ source, origin, data: { protocol: "meeting-embed", version: 1, ...data } });
}

test("builds the meeting URL with the name and options", () => {
  const url = new URL(MeetingsExternalAPI.meetingUrl({
    domain: "joe.reseller.tld", roomCode: "1234567", name: "Ann Lee",
    config: { hideButtons: ["chat", "invite"], startWithAudioMuted: true, res: 360, observer: false },
  }));
  assert.equal(url.origin, ORIGIN);
  assert.equal(url.pathname, "/conf/call/1234567");
  assert.equal(url.searchParams.get("name"), "Ann Lee");
  assert.equal(url.searchParams.get("skip_join"), "1");
  assert.equal(url.searchParams.get("hideButtons"), "chat,invite");
  assert.equal(url.searchParams.get("startWithAudioMuted"), "1");
  assert.equal(url.searchParams.get("res"), "360");
  assert.equal(url.searchParams.has("observer"), false);
});

test("an explicit skip_join false keeps the pre-join screen", () => {
  const url = new URL(MeetingsExternalAPI.meetingUrl({ url: `${ORIGIN}/conf/call/1`, name: "Ann", config: { skip_join: false } }));
  assert.equal(url.searchParams.has("skip_join"), false);
  assert.equal(url.searchParams.get("name"), "Ann");
});

test("a login token signs in through /auth and then opens the room", () => {
  const url = new URL(MeetingsExternalAPI.meetingUrl({ url: `${ORIGIN}/conf/call/1234567?view=speaker`, loginToken: "t.o.k" }));
  assert.equal(url.pathname, "/auth");
  assert.equal(url.searchParams.get("token"), "t.o.k");
  assert.equal(url.searchParams.get("remember_me"), "0");
  assert.equal(url.searchParams.get("redirect_url"), "/conf/call/1234567?view=speaker");
});

test("needs a url or a domain and a room code", () => {
  assert.throws(() => MeetingsExternalAPI.meetingUrl({ domain: "joe.reseller.tld" }), TypeError);
});

test("creates the iframe with media permissions and size", () => {
  const { api, frame } = open({ width: 800, height: "70vh" });
  assert.equal(frame.tag, "iframe");
  assert.equal(frame.attributes.allow, "camera; microphone; display-capture; autoplay; fullscreen");
  assert.equal(frame.style.width, "800px");
  assert.equal(frame.style.height, "70vh");
  assert.ok(frame.src.startsWith(`${ORIGIN}/conf/call/1234567?`));
  assert.equal(api.getIFrame(), frame);
  api.dispose();
});

test("says hello on load and queues commands until the page is ready", async () => {
  const { api, frame } = open();
  const done = api.executeCommand("toggleAudio");
  frame.handlers.load();
  assert.deepEqual(frame.sent.map((s) => [s.message.kind, s.origin]), [["hello", ORIGIN]]);
  fromMeeting(frame, { kind: "event", name: "ready", data: { joined: false } });
  const command = frame.sent[1];
  assert.equal(command.origin, ORIGIN);
  assert.deepEqual([command.message.protocol, command.message.version, command.message.kind, command.message.name],
    ["meeting-embed", 1, "command", "toggleAudio"]);
  fromMeeting(frame, { kind: "result", id: command.message.id, ok: true });
  await done;
  api.dispose();
});

test("a refused command rejects with the page's reason", async () => {
  const { api, frame } = open();
  fromMeeting(frame, { kind: "event", name: "ready", data: {} });
  const refused = api.executeCommand("muteAll");
  const sent = frame.sent.at(-1).message;
  fromMeeting(frame, { kind: "result", id: sent.id, ok: false, error: "only a moderator may do that" });
  await assert.rejects(refused, /only a moderator/);
  api.dispose();
});

test("events reach handlers; on, off and the wildcard", () => {
  const { api, frame } = open();
  const seen = [];
  const handler = (data) => seen.push(["muted", data.muted]);
  api.on("audioMuteStatusChanged", handler).on("*", (_, name) => seen.push(["any", name]));
  fromMeeting(frame, { kind: "event", name: "audioMuteStatusChanged", data: { muted: true } });
  api.off("audioMuteStatusChanged", handler);
  fromMeeting(frame, { kind: "event", name: "audioMuteStatusChanged", data: { muted: false } });
  assert.deepEqual(seen, [["muted", true], ["any", "audioMuteStatusChanged"], ["any", "audioMuteStatusChanged"]]);
  api.dispose();
});

test("ignores messages from other origins, other windows and other protocols", () => {
  const { api, frame } = open();
  const seen = [];
  api.on("*", (_, name) => seen.push(name));
  fromMeeting(frame, { kind: "event", name: "hangupFromElsewhere" }, "https://evil.example");
  fromMeeting(frame, { kind: "event", name: "spoofed" }, ORIGIN, { postMessage() {} });
  deliver({ source: frame.contentWindow, origin: ORIGIN, data: { protocol: "meeting-embed", version: 2, kind: "event", name: "future" } });
  deliver({ source: frame.contentWindow, origin: ORIGIN, data: "not an object" });
  assert.deepEqual(seen, []);
  api.dispose();
});

test("keeps the participant list from events", () => {
  const { api, frame } = open();
  fromMeeting(frame, { kind: "event", name: "videoConferenceJoined", data: {
    id: "p1", displayName: "Ann", role: "guest", audioMuted: false,
    participants: [{ id: "p0", displayName: "Joe", role: "moderator" }],
  } });
  fromMeeting(frame, { kind: "event", name: "participantJoined", data: { id: "p2", displayName: "Bob" } });
  fromMeeting(frame, { kind: "event", name: "audioMuteStatusChanged", data: { muted: true } });
  fromMeeting(frame, { kind: "event", name: "participantLeft", data: { id: "p0" } });
  assert.deepEqual(api.getParticipants().map((p) => p.id), ["p1", "p2"]);
  assert.equal(api.getParticipants()[0].audioMuted, true);
  assert.equal(api.getNumberOfParticipants(), 2);
  fromMeeting(frame, { kind: "event", name: "videoConferenceLeft", data: { reason: "ended_by_host" } });
  assert.deepEqual(api.getParticipants(), []);
  api.dispose();
});

test("dispose removes the iframe, the listener and pending commands", async () => {
  const { api, frame, parentNode } = open();
  const pending = api.executeCommand("hangup");
  const before = listeners.size;
  api.dispose();
  assert.equal(parentNode.children.length, 0);
  assert.equal(listeners.size, before - 1);
  await assert.rejects(pending, /disposed/);
  fromMeeting(frame, { kind: "event", name: "ready", data: {} });
  assert.equal(frame.sent.length, 0);
});

test("the Jitsi-style constructor takes the domain first", () => {
  const parentNode = new FakeElement("div");
  const api = new MeetingsExternalAPI("joe.reseller.tld", { roomCode: "42", parentNode });
  assert.equal(new URL(parentNode.children[0].src).pathname, "/conf/call/42");
  api.dispose();
});

test("stays small and dependency-free", () => {
  const fs = require("node:fs");
  const source = fs.readFileSync(require.resolve("../../static/external_api.js"), "utf8");
  assert.ok(Buffer.byteLength(source) < 15 * 1024, `${Buffer.byteLength(source)} bytes`);
  assert.doesNotMatch(source, /\brequire\(|\bimport\s/);
});
