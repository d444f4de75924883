"""Standard MIDI files, written and read with no dependency.

Just what the score needs: a format-1 file of tracks holding notes, program changes,
controllers, tempo, time and key signatures, and a reader that parses any ordinary
SMF back (running status, meta and sysex events included) so tests and tools can
inspect what was written.

Writing is deterministic: events at the same tick are ordered meta, program,
controller, note-off, note-on, then by insertion, so the same calls give the same bytes.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

from studio.atomic import write_bytes

PPQ = 480  # ticks per quarter note

# sort order of events that share a tick
_META, _PROGRAM, _CONTROL, _NOTE_OFF, _NOTE_ON = range(5)


def _vlq(value: int) -> bytes:
    """A MIDI variable-length quantity."""
    if value < 0:
        raise ValueError("negative delta time")
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


@dataclass(frozen=True)
class Note:
    start: int  # ticks
    end: int
    channel: int
    pitch: int
    velocity: int


@dataclass
class Track:
    name: str = ""
    # (tick, order, sequence, data); data is the event without its delta time
    events: list[tuple[int, int, int, bytes]] = field(default_factory=list)
    end_tick: int = 0  # the end-of-track tick (at least the last event's)
    offset: int = 0  # added to every tick given to the methods below (not stored in the file)
    limit: int | None = None  # notes are cut to end by this tick (after the offset); later ones dropped

    def _add(self, tick: int, order: int, data: bytes) -> None:
        tick = int(tick) + self.offset
        if tick < 0:
            raise ValueError("negative tick")
        self.events.append((tick, order, len(self.events), data))

    # -- channel events ---------------------------------------------------------
    def note(self, channel: int, pitch: int, start: int, duration: int, velocity: int) -> None:
        pitch = max(0, min(127, int(pitch)))
        velocity = max(1, min(127, int(velocity)))
        start = int(start)
        end = start + max(1, int(duration))
        if self.limit is not None:
            if start + self.offset >= self.limit:
                return
            end = min(end, self.limit - self.offset)
        self._add(start, _NOTE_ON, bytes((0x90 | channel, pitch, velocity)))
        self._add(end, _NOTE_OFF, bytes((0x80 | channel, pitch, 0)))

    def program(self, channel: int, program: int, tick: int = 0) -> None:
        self._add(tick, _PROGRAM, bytes((0xC0 | channel, program & 0x7F)))

    def control(self, channel: int, controller: int, value: int, tick: int = 0) -> None:
        value = max(0, min(127, int(round(value))))
        self._add(tick, _CONTROL, bytes((0xB0 | channel, controller & 0x7F, value)))

    # -- meta events --------------------------------------------------------------
    def meta(self, kind: int, payload: bytes, tick: int = 0) -> None:
        self._add(tick, _META, bytes((0xFF, kind)) + _vlq(len(payload)) + payload)

    def tempo(self, bpm: float, tick: int = 0) -> None:
        self.meta(0x51, struct.pack(">I", round(60_000_000 / bpm))[1:], tick)

    def time_signature(self, numerator: int, denominator: int = 4, tick: int = 0) -> None:
        self.meta(0x58, bytes((numerator, denominator.bit_length() - 1, 24, 8)), tick)

    def key_signature(self, sharps: int, minor: bool, tick: int = 0) -> None:
        self.meta(0x59, struct.pack(">bB", sharps, 1 if minor else 0), tick)

    def text(self, text: str, tick: int = 0) -> None:
        self.meta(0x01, text.encode("utf-8"), tick)

    # -- bytes ----------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        body = bytearray()
        if self.name:
            body += b"\x00\xff\x03" + _vlq(len(self.name.encode())) + self.name.encode()
        last = 0
        for tick, _order, _seq, data in sorted(self.events):
            body += _vlq(tick - last) + data
            last = tick
        body += _vlq(max(0, self.end_tick - last)) + b"\xff\x2f\x00"
        return b"MTrk" + struct.pack(">I", len(body)) + bytes(body)


@dataclass
class MidiFile:
    """A format-1 standard MIDI file: ``tracks[0]`` conventionally holds tempo and meta."""

    tracks: list[Track] = field(default_factory=list)
    ticks_per_beat: int = PPQ

    def add_track(self, name: str = "") -> Track:
        track = Track(name)
        self.tracks.append(track)
        return track

    def to_bytes(self) -> bytes:
        end = self.end_tick
        for track in self.tracks:  # every track ends together: players see one length
            track.end_tick = end
        header = b"MThd" + struct.pack(">IHHH", 6, 1, len(self.tracks), self.ticks_per_beat)
        return header + b"".join(t.to_bytes() for t in self.tracks)

    def save(self, path: Path | str) -> Path:
        return write_bytes(path, self.to_bytes())

    # -- inspection -----------------------------------------------------------------
    @property
    def end_tick(self) -> int:
        last = max((t.end_tick for t in self.tracks), default=0)
        for track in self.tracks:
            if track.events:
                last = max(last, max(e[0] for e in track.events))
        return last

    def _sorted_events(self) -> list[tuple[int, int, bytes]]:
        """(tick, track index, data) over all tracks, in play order."""
        out = []
        for i, track in enumerate(self.tracks):
            for tick, order, seq, data in track.events:
                out.append((tick, order, i, seq, data))
        out.sort()
        return [(tick, i, data) for tick, _order, i, _seq, data in out]

    def tempos(self) -> list[tuple[int, float]]:
        """(tick, bpm) changes in order; 120 bpm when the file sets none."""
        changes = [
            (tick, 60_000_000 / int.from_bytes(data[3:6], "big"))
            for tick, _i, data in self._sorted_events()
            if data[:2] == b"\xff\x51"
        ]
        return changes or [(0, 120.0)]

    def seconds_at(self, tick: int) -> float:
        """The time of ``tick`` under the file's tempo map."""
        seconds, last_tick, bpm = 0.0, 0, 120.0
        for change_tick, change_bpm in self.tempos():
            if change_tick >= tick:
                break
            seconds += (change_tick - last_tick) * 60 / (bpm * self.ticks_per_beat)
            last_tick, bpm = change_tick, change_bpm
        return seconds + (tick - last_tick) * 60 / (bpm * self.ticks_per_beat)

    @property
    def length_seconds(self) -> float:
        """Up to the end of the tracks (what a player plays, release included)."""
        return self.seconds_at(self.end_tick)

    def notes(self) -> list[Note]:
        """Every note, paired on/off, sorted by start."""
        open_: dict[tuple[int, int], list[tuple[int, int]]] = {}
        notes = []
        for tick, _i, data in self._sorted_events():
            status = data[0] & 0xF0
            if status not in (0x80, 0x90):
                continue
            channel, pitch, velocity = data[0] & 0x0F, data[1], data[2]
            if status == 0x90 and velocity > 0:
                open_.setdefault((channel, pitch), []).append((tick, velocity))
            elif open_.get((channel, pitch)):
                start, vel = open_[(channel, pitch)].pop(0)
                notes.append(Note(start, tick, channel, pitch, vel))
        return sorted(notes, key=lambda n: (n.start, n.channel, n.pitch, n.end))

    def programs(self) -> dict[int, int]:
        """channel -> the first program set on it."""
        out: dict[int, int] = {}
        for _tick, _i, data in self._sorted_events():
            if data[0] & 0xF0 == 0xC0:
                out.setdefault(data[0] & 0x0F, data[1])
        return out

    def key_signature(self) -> tuple[int, bool] | None:
        for _tick, _i, data in self._sorted_events():
            if data[:2] == b"\xff\x59":
                sharps, minor = struct.unpack(">bB", data[3:5])
                return sharps, bool(minor)
        return None

    def texts(self) -> list[str]:
        out = []
        for _t, _i, data in self._sorted_events():
            if data[:2] == b"\xff\x01":
                length, start = _read_vlq(data, 2)
                out.append(data[start:start + length].decode("utf-8", "replace"))
        return out

    # -- reading ----------------------------------------------------------------------
    @classmethod
    def load(cls, path: Path | str) -> MidiFile:
        return cls.parse(Path(path).read_bytes())

    @classmethod
    def parse(cls, data: bytes) -> MidiFile:
        if data[:4] != b"MThd":
            raise ValueError("not a standard MIDI file (no MThd)")
        hlen, _fmt, ntracks, division = struct.unpack(">IHHH", data[4:14])
        if division & 0x8000:
            raise ValueError("SMPTE time division is not supported")
        midi = cls(ticks_per_beat=division)
        pos = 8 + hlen
        for _ in range(ntracks):
            if data[pos:pos + 4] != b"MTrk":
                raise ValueError(f"expected MTrk at byte {pos}")
            (length,) = struct.unpack(">I", data[pos + 4:pos + 8])
            midi.tracks.append(_parse_track(data[pos + 8:pos + 8 + length]))
            pos += 8 + length
        return midi


def _read_vlq(data: bytes, pos: int) -> tuple[int, int]:
    value = 0
    while True:
        byte = data[pos]
        pos += 1
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            return value, pos


def _parse_track(data: bytes) -> Track:
    track = Track()
    pos, tick, status = 0, 0, 0
    while pos < len(data):
        delta, pos = _read_vlq(data, pos)
        tick += delta
        byte = data[pos]
        if byte == 0xFF:
            kind = data[pos + 1]
            length, start = _read_vlq(data, pos + 2)
            payload = data[start:start + length]
            pos = start + length
            if kind == 0x2F:
                track.end_tick = tick
                break
            if kind == 0x03 and not track.name:
                track.name = payload.decode("utf-8", "replace")
                continue
            track._add(tick, _META, bytes((0xFF, kind)) + _vlq(len(payload)) + payload)
            continue
        if byte in (0xF0, 0xF7):
            length, start = _read_vlq(data, pos + 1)
            pos = start + length
            continue
        if byte & 0x80:
            status = byte
            pos += 1
        elif not status:
            raise ValueError("running status with no status byte")
        kind = status & 0xF0
        size = 1 if kind in (0xC0, 0xD0) else 2
        body = bytes((status,)) + data[pos:pos + size]
        pos += size
        order = {0xC0: _PROGRAM, 0xB0: _CONTROL, 0x80: _NOTE_OFF}.get(kind, _CONTROL)
        if kind == 0x90:
            order = _NOTE_ON if body[2] else _NOTE_OFF
        track._add(tick, order, body)
    track.end_tick = max(track.end_tick, tick)
    return track
