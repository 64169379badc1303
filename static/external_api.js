// Meetings embedding SDK: puts a meeting in an iframe and drives it over the versioned
// postMessage protocol of docs/embedding.md. Plain JavaScript, no dependencies, no build step.
// Exposed as `MeetingsExternalAPI` (a brand-neutral name for white-label use); also a CommonJS export.
(function (global) {
  "use strict";

  const PROTOCOL = "meeting-embed";
  const VERSION = 1;
  const ALLOW = "camera; microphone; display-capture; autoplay; fullscreen";
  /** Options that become meeting URL parameters as they are. */
  const URL_OPTIONS = ["skip_join", "mute", "pin", "observer", "res", "view", "tiles", "strip_layout",
    "hideButtons", "startWithAudioMuted", "startWithVideoMuted", "hideLogo", "after_call_url", "auto_close", "events"];

  /**
   * @typedef {Object} MeetingOptions
   * @property {string} [domain] The company's meeting domain, e.g. "joe.reseller.tld" (with a port if any).
   * @property {string} [roomCode] The room's access code; with `domain` it makes `/conf/call/<roomCode>`.
   * @property {string} [url] The full meeting URL instead of `domain` + `roomCode`.
   * @property {HTMLElement} [parentNode] Where the iframe goes (default: document.body).
   * @property {number|string} [width] Pixels as a number, or any CSS length (default "100%").
   * @property {number|string} [height] Pixels as a number, or any CSS length (default 600).
   * @property {string} [name] The participant's name; the page joins at once unless `config.skip_join` is false.
   * @property {string} [loginToken] A signed login token: the host is signed in through `/auth` first.
   * @property {string} [jwt] Same as `loginToken`.
   * @property {Object<string, string|number|boolean|string[]>} [config] Meeting URL options (docs/embedding.md).
   * @property {boolean} [noSSL] Use http instead of https with `domain` (local testing only).
   * @property {() => void} [onload] Called when the iframe has loaded.
   */

  /**
   * @typedef {Object} Participant
   * @property {string} id
   * @property {string} displayName
   * @property {string} [role] "moderator" or "guest"
   * @property {boolean} [audioMuted]
   * @property {boolean} [videoMuted]
   */

  /**
   * The iframe URL for `options`; exported for tests and for embedders that make their own iframe.
   * @param {MeetingOptions} options
   * @returns {string}
   */
  function meetingUrl(options) {
    let base;
    if (options.url) {
      base = new URL(options.url);
    } else if (options.domain && options.roomCode) {
      const scheme = options.noSSL ? "http" : "https";
      base = new URL(`${scheme}://${options.domain}/conf/call/${encodeURIComponent(options.roomCode)}`);
    } else {
      throw new TypeError("either url, or domain and roomCode, is required");
    }
    const config = options.config || {};
    if (options.name) {
      base.searchParams.set("name", options.name);
      if (config.skip_join === undefined) base.searchParams.set("skip_join", "1");
    }
    for (const key of URL_OPTIONS) {
      const value = config[key];
      if (value === undefined || value === null || value === false) continue;
      if (key === "skip_join" && value !== true && value !== 1 && value !== "1") continue;
      const text = Array.isArray(value) ? value.join(",") : value === true ? "1" : String(value);
      base.searchParams.set(key, text);
    }
    const token = options.loginToken || options.jwt;
    if (!token) return base.toString();
    // Sign the host in first: /auth sets the session cookie inside the frame, then redirects.
    const auth = new URL("/auth", base.origin);
    auth.searchParams.set("token", token);
    auth.searchParams.set("remember_me", "0");
    auth.searchParams.set("redirect_url", base.pathname + base.search);
    return auth.toString();
  }

  /** A meeting in an iframe, driven with commands and observed through events. */
  class MeetingsExternalAPI {
    /**
     * @param {MeetingOptions|string} options The options, or (Jitsi style) the domain …
     * @param {MeetingOptions} [more] … followed by the options.
     */
    constructor(options, more) {
      if (typeof options === "string") options = Object.assign({}, more, { domain: options });
      if (!options || typeof options !== "object") throw new TypeError("options are required");
      const doc = (options.parentNode && options.parentNode.ownerDocument) || global.document;
      const src = meetingUrl(options);
      /** @private */ this._origin = new URL(src).origin;
      /** @private */ this._handlers = new Map();
      /** @private */ this._pending = new Map();
      /** @private */ this._queue = [];
      /** @private */ this._nextId = 1;
      /** @private */ this._ready = false;
      /** @private @type {Map<string, Participant>} */ this._participants = new Map();
      /** @private */ this._me = null;

      const frame = doc.createElement("iframe");
      frame.setAttribute("allow", ALLOW);
      frame.setAttribute("allowfullscreen", "true");
      frame.setAttribute("title", options.title || "Meeting");
      frame.style.border = "0";
      frame.style.width = size(options.width, "100%");
      frame.style.height = size(options.height, "600px");
      /** @type {HTMLIFrameElement} */ this.iframe = frame;

      /** @private */ this._onMessage = (e) => this._receive(e);
      global.addEventListener("message", this._onMessage);
      frame.addEventListener("load", () => {
        this._ready = false; // a new document in the frame (a redirect): say hello again
        this._post({ kind: "hello" });
        if (typeof options.onload === "function") options.onload();
      });
      frame.src = src;
      (options.parentNode || doc.body).appendChild(frame);
    }

    /**
     * Runs a command in the meeting (queued until the meeting page is ready).
     * @param {string} name e.g. "toggleAudio", "sendChatMessage", "hangup"
     * @param {...*} args
     * @returns {Promise<void>} rejects with the page's reason when the command cannot run
     */
    executeCommand(name, ...args) {
      if (typeof name !== "string" || !name) return Promise.reject(new TypeError("command name required"));
      const id = this._nextId++;
      return new Promise((resolve, reject) => {
        this._pending.set(id, { resolve, reject });
        const message = { kind: "command", id, name, args };
        if (this._ready) this._post(message); else this._queue.push(message);
      });
    }

    /**
     * Runs several commands: `{toggleAudio: [], sendChatMessage: ["hi"]}`.
     * @param {Object<string, Array<*>>} commands
     * @returns {Promise<void[]>}
     */
    executeCommands(commands) {
      return Promise.all(Object.entries(commands).map(([n, a]) => this.executeCommand(n, ...(a || []))));
    }

    /**
     * Listens to an event ("videoConferenceJoined", "participantJoined", … or "*" for all).
     * @param {string} event
     * @param {(data: Object, event: string) => void} handler
     * @returns {this}
     */
    on(event, handler) {
      if (!this._handlers.has(event)) this._handlers.set(event, new Set());
      this._handlers.get(event).add(handler);
      return this;
    }

    /**
     * Stops listening; without a handler, removes every handler of the event.
     * @param {string} event
     * @param {Function} [handler]
     * @returns {this}
     */
    off(event, handler) {
      if (!handler) this._handlers.delete(event);
      else if (this._handlers.has(event)) this._handlers.get(event).delete(handler);
      return this;
    }

    /** Jitsi-style aliases. */
    addListener(event, handler) { return this.on(event, handler); }
    removeListener(event, handler) { return this.off(event, handler); }

    /** @returns {Participant[]} everyone in the meeting, the local participant first */
    getParticipants() {
      const others = [...this._participants.values()];
      return this._me ? [this._me, ...others] : others;
    }

    /** @returns {number} */
    getNumberOfParticipants() { return this.getParticipants().length; }

    /** @returns {HTMLIFrameElement} */
    getIFrame() { return this.iframe; }

    /** Leaves nothing behind: removes the iframe and the listener, rejects pending commands. */
    dispose() {
      global.removeEventListener("message", this._onMessage);
      for (const { reject } of this._pending.values()) reject(new Error("disposed"));
      this._pending.clear();
      this._queue = [];
      this._handlers.clear();
      if (this.iframe.parentNode) this.iframe.parentNode.removeChild(this.iframe);
    }

    /** @private */
    _post(message) {
      const target = this.iframe.contentWindow;
      if (target) target.postMessage(Object.assign({ protocol: PROTOCOL, version: VERSION }, message), this._origin);
    }

    /** @private */
    _receive(e) {
      // Only the meeting's own frame, from the meeting's origin.
      if (e.source !== this.iframe.contentWindow || e.origin !== this._origin) return;
      const data = e.data;
      if (!data || typeof data !== "object" || data.protocol !== PROTOCOL || data.version !== VERSION) return;
      if (data.kind === "result") {
        const pending = this._pending.get(data.id);
        if (!pending) return;
        this._pending.delete(data.id);
        if (data.ok) pending.resolve(); else pending.reject(new Error(data.error || "command failed"));
      } else if (data.kind === "event" && typeof data.name === "string") {
        this._track(data.name, data.data || {});
        if (data.name === "ready") {
          this._ready = true;
          const queued = this._queue;
          this._queue = [];
          queued.forEach((m) => this._post(m));
        }
        this._emit(data.name, data.data || {});
      }
    }

    /** @private Keeps the participant list that getParticipants() answers. */
    _track(name, data) {
      const local = (d) => ({ id: d.id, displayName: d.displayName, role: d.role, audioMuted: !!d.audioMuted, videoMuted: !!d.videoMuted });
      if (name === "ready" && data.joined || name === "videoConferenceJoined") {
        this._me = local(data);
        this._participants = new Map((data.participants || []).map((p) => [p.id, p]));
      } else if (name === "participantJoined") {
        this._participants.set(data.id, data);
      } else if (name === "participantLeft") {
        this._participants.delete(data.id);
      } else if (name === "videoConferenceLeft") {
        this._me = null;
        this._participants.clear();
      } else if (this._me && (name === "audioMuteStatusChanged" || name === "videoMuteStatusChanged")) {
        this._me[name === "audioMuteStatusChanged" ? "audioMuted" : "videoMuted"] = !!data.muted;
      }
    }

    /** @private */
    _emit(name, data) {
      for (const key of [name, "*"]) {
        for (const handler of [...(this._handlers.get(key) || [])]) {
          try { handler(data, name); } catch (err) { setTimeout(() => { throw err; }); }
        }
      }
    }
  }

  function size(value, fallback) {
    if (value === undefined || value === null || value === "") return fallback;
    return typeof value === "number" ? `${value}px` : String(value);
  }

  MeetingsExternalAPI.meetingUrl = meetingUrl;
  MeetingsExternalAPI.PROTOCOL = PROTOCOL;
  MeetingsExternalAPI.VERSION = VERSION;
  if (typeof module === "object" && module.exports) module.exports = MeetingsExternalAPI;
  global.MeetingsExternalAPI = MeetingsExternalAPI;
})(typeof window !== "undefined" ? window : globalThis);
