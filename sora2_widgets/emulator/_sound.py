"""The emulator's soundtrack: a synthetic AAC track for videos that should have sound.

The signal is a quiet two-note chord whose root comes from the seed (so clips differ and the same
inputs give the same samples) with a short tick at every whole second, in step with the picture's
timecode, so sync can be checked by ear. It is computed once with numpy; :class:`AudioTrack` hands
it to FFmpeg's AAC encoder in ``frame_size`` pieces as the video advances, and the last piece
is cut short, so the track ends exactly where the video does (FFmpeg's MP4 muxer writes the edit
list that hides the encoder's priming samples).
"""

from __future__ import annotations

import random
from fractions import Fraction

import av
import numpy as np
import numpy.typing as npt
from av.audio.stream import AudioStream
from av.container import OutputContainer

__all__ = ["SAMPLE_RATE", "AudioTrack", "soundtrack"]

F32 = npt.NDArray[np.float32]

#: What browsers and every AAC decoder play natively; 2000 samples per frame at 24 fps.
SAMPLE_RATE = 48_000
#: Mono at a low bit rate: the sound only has to exist and play; the file stays small.
_LAYOUT = "mono"
_BIT_RATE = 64_000
#: Peak level (full scale is 1.0): audible, but never loud in someone's headphones.
_LEVEL = 0.25
_FADE_SECONDS = 0.03
_TICK_SECONDS = 0.06


def soundtrack(seed: int, num_samples: int, rate: int = SAMPLE_RATE) -> F32:
    """``num_samples`` mono samples in ``[-_LEVEL, _LEVEL]``: the seed's chord and a tick per second."""
    # Its own stream of numbers, so the sound does not move when the palette's draws change.
    rng = random.Random(f"sound:{seed}")  # noqa: S311 -- a pitch, not a secret; must be reproducible
    root = 196.0 * 2.0 ** (rng.randrange(12) / 12)  # G3 up to F#4
    t = np.arange(num_samples, dtype=np.float64) / rate
    # A fifth over the root, breathing slowly (period 4 s) so it does not sound like a test tone.
    swell = 0.75 + 0.25 * np.cos(2.0 * np.pi * t / 4.0)
    chord = (np.sin(2.0 * np.pi * root * t) + 0.6 * np.sin(2.0 * np.pi * 1.5 * root * t)) * swell / 1.6
    # Two octaves up, decaying within the tick's length after each whole second.
    since = np.mod(t, 1.0)
    tick = np.sin(2.0 * np.pi * 4.0 * root * t) * np.exp(-since / (_TICK_SECONDS / 4)) * (since < _TICK_SECONDS)
    signal = 0.7 * chord + 0.3 * tick
    # Short fades at both ends: no click when playback starts or the clip loops.
    fade = max(1, min(num_samples // 2, round(_FADE_SECONDS * rate)))
    ramp = np.linspace(0.0, 1.0, fade, dtype=np.float64)
    signal[:fade] *= ramp
    signal[num_samples - fade :] *= ramp[::-1]
    out: F32 = (signal * _LEVEL).astype(np.float32)
    return out


class AudioTrack:
    """An AAC stream in ``container`` fed from ``samples`` up to a given point in time."""

    def __init__(self, container: OutputContainer, samples: F32, rate: int = SAMPLE_RATE) -> None:
        self.container = container
        self.samples = samples
        self.rate = rate
        self.stream: AudioStream = container.add_stream("aac", rate=rate)
        self.stream.layout = _LAYOUT
        self.stream.format = "fltp"
        self.stream.bit_rate = _BIT_RATE
        self.stream.time_base = Fraction(1, rate)
        self.sent = 0

    def advance(self, until: int) -> None:
        """Encode and mux every whole encoder frame that starts before sample ``until``."""
        # 0 until the encoder opens on the first frame; AAC-LC's frame is always 1024 samples.
        size = self.stream.codec_context.frame_size or 1024
        end = min(until, len(self.samples))
        while self.sent < end:
            # Whole frames only, except the very last one, which ends the track exactly.
            stop = min(self.sent + size, len(self.samples))
            frame = av.AudioFrame.from_ndarray(self.samples[None, self.sent : stop], format="fltp", layout=_LAYOUT)
            frame.sample_rate = self.rate
            frame.pts = self.sent
            frame.time_base = Fraction(1, self.rate)
            self.container.mux(self.stream.encode(frame))
            self.sent = stop

    def finish(self) -> None:
        """Encode what is left and flush the encoder."""
        self.advance(len(self.samples))
        self.container.mux(self.stream.encode(None))
