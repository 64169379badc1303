//! Dominant-speaker detection from RFC 6464 audio levels (0 = loudest, 127 = silence, in -dBov).

use std::collections::HashMap;

use super::PeerId;

/// Levels louder than this (in -dBov) count as speech.
const SPEECH_THRESHOLD: u8 = 50;
/// How much louder (in averaged loudness) a challenger must be to take over, so the speaker
/// does not flap between two people talking at once.
const SWITCH_MARGIN: f32 = 5.0;

/// Per-room accumulator of audio levels between evaluations.
#[derive(Default)]
pub struct SpeakerTracker {
    window: HashMap<PeerId, (f32, u32)>,
    current: Option<PeerId>,
}

impl SpeakerTracker {
    /// Records one packet's level from `peer`.
    pub fn observe(&mut self, peer: PeerId, level: u8) {
        let loudness = f32::from(127 - level.min(127));
        let entry = self.window.entry(peer).or_insert((0.0, 0));
        entry.0 += loudness;
        entry.1 += 1;
    }

    /// Forgets a peer that left.
    pub fn forget(&mut self, peer: PeerId) {
        self.window.remove(&peer);
        if self.current == Some(peer) {
            self.current = None;
        }
    }

    /// Closes the window; returns the new dominant speaker when it changed.
    pub fn evaluate(&mut self) -> Option<PeerId> {
        let averages: Vec<(PeerId, f32)> = self
            .window
            .drain()
            .map(|(peer, (sum, n))| (peer, sum / n.max(1) as f32))
            .collect();
        let speaking = f32::from(127 - SPEECH_THRESHOLD);
        let (loudest, loudness) = averages
            .iter()
            .copied()
            .filter(|(_, loudness)| *loudness >= speaking)
            .max_by(|a, b| a.1.total_cmp(&b.1))?;
        if self.current == Some(loudest) {
            return None;
        }
        let current_loudness = self
            .current
            .and_then(|c| averages.iter().find(|(p, _)| *p == c))
            .map(|(_, l)| *l);
        if current_loudness.is_some_and(|l| loudness < l + SWITCH_MARGIN) {
            return None;
        }
        self.current = Some(loudest);
        Some(loudest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loudest_speaker_wins_and_silence_changes_nothing() {
        let mut t = SpeakerTracker::default();
        t.observe(PeerId(1), 30);
        t.observe(PeerId(2), 90);
        assert_eq!(t.evaluate(), Some(PeerId(1)));
        t.observe(PeerId(1), 30);
        assert_eq!(t.evaluate(), None, "same speaker is not announced again");
        t.observe(PeerId(2), 127);
        assert_eq!(t.evaluate(), None, "silence does not take over");
        t.observe(PeerId(1), 40);
        t.observe(PeerId(2), 38);
        assert_eq!(
            t.evaluate(),
            None,
            "a marginally louder voice does not flap the speaker"
        );
        t.observe(PeerId(1), 45);
        t.observe(PeerId(2), 10);
        assert_eq!(t.evaluate(), Some(PeerId(2)));
        t.forget(PeerId(2));
        t.observe(PeerId(1), 20);
        assert_eq!(t.evaluate(), Some(PeerId(1)));
    }
}
