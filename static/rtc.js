// Pieces shared by the meeting page (meeting.js) and the live stream player (livestream.js): the
// signalling socket of a room, the SDP steps with the SFU and naming incoming tracks
// (docs/signalling.md). Plain JavaScript, no dependencies.
(function () {
  "use strict";

  /** The signalling WebSocket of a room, on the page's own host (the server checks Origin). */
  function openSocket(code) {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    return new WebSocket(`${scheme}://${location.host}/conf/call/${encodeURIComponent(code)}/ws`);
  }

  /** Applies the server's answer to our pending offer; a stale one is ignored. */
  async function applyAnswer(pc, sdp) {
    if (pc.signalingState === "have-local-offer") await pc.setRemoteDescription({ type: "answer", sdp });
  }

  /**
   * Answers a server offer and returns the answer's SDP, or null while our own offer is pending:
   * on glare the server withdraws its offer and sends a fresh one after answering ours.
   */
  async function answerOffer(pc, sdp) {
    if (pc.signalingState !== "stable") return null;
    await pc.setRemoteDescription({ type: "offer", sdp });
    await pc.setLocalDescription(await pc.createAnswer());
    return pc.localDescription.sdp;
  }

  /** Carries out the server's `answer` or `offer` message; answers go back through `send`. */
  async function negotiate(pc, message, send) {
    if (message.type === "answer") {
      await applyAnswer(pc, message.sdp);
    } else if (message.type === "offer") {
      const answer = await answerOffer(pc, message.sdp);
      if (answer) send({ type: "answer", sdp: answer });
    }
  }

  /**
   * The server's `track` announcement for an incoming track. Chromium names remote tracks by
   * their msid track id; other browsers are matched through the m-section's `a=msid:` line.
   */
  function announcedTrack(pc, event, announced) {
    const byId = announced.get(event.track.id);
    if (byId) return byId;
    const sdp = (pc.remoteDescription && pc.remoteDescription.sdp) || "";
    const mid = event.transceiver && event.transceiver.mid;
    for (const section of sdp.split(/\r\n(?=m=)/)) {
      const lines = section.split("\r\n");
      if (!lines.includes(`a=mid:${mid}`)) continue;
      const msid = lines.find((line) => line.startsWith("a=msid:"));
      if (msid) return announced.get(msid.slice("a=msid:".length).split(" ")[1]) || null;
    }
    return null;
  }

  window.MeetingRtc = { openSocket, negotiate, announcedTrack };
})();
