"""The screenplay format, version 1, as pydantic models.

These models are the single source of truth for the format: validation, the JSON
Schema in ``schema/screenplay.schema.json`` and the README's field tables all come
from here. Unknown keys are errors (``extra="forbid"``) so a typo never silently
drops a field.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Discriminator, Field, PrivateAttr, Tag

FORMAT_VERSION = 1

Id = Annotated[
    str,
    Field(
        pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$",
        description="Lower-case letters, digits, '-' and '_'; starts with a letter or digit.",
        examples=["mara", "s1", "lighthouse"],
    ),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=True, validate_default=True)


class ShotSize(str, Enum):
    """How much of the subject the frame holds, widest first."""

    extreme_wide = "extreme-wide"
    wide = "wide"
    full = "full"
    medium_wide = "medium-wide"
    medium = "medium"
    medium_close_up = "medium-close-up"
    close_up = "close-up"
    extreme_close_up = "extreme-close-up"
    over_the_shoulder = "over-the-shoulder"
    two_shot = "two-shot"
    insert = "insert"
    pov = "pov"


class CameraMove(str, Enum):
    """What the camera does during the shot. Bare names mean the usual direction."""

    static = "static"
    pan = "pan"
    pan_left = "pan-left"
    pan_right = "pan-right"
    tilt = "tilt"
    tilt_up = "tilt-up"
    tilt_down = "tilt-down"
    dolly = "dolly"
    dolly_in = "dolly-in"
    dolly_out = "dolly-out"
    zoom = "zoom"
    zoom_in = "zoom-in"
    zoom_out = "zoom-out"
    truck_left = "truck-left"
    truck_right = "truck-right"
    crane_up = "crane-up"
    crane_down = "crane-down"
    handheld = "handheld"


class TimeOfDay(str, Enum):
    dawn = "dawn"
    morning = "morning"
    day = "day"
    afternoon = "afternoon"
    dusk = "dusk"
    evening = "evening"
    night = "night"


class Continuity(str, Enum):
    """``cut``: a new camera set-up. ``continuous``: the shot picks up exactly on the
    last frame of the shot before it (one unbroken take across two shots)."""

    cut = "cut"
    continuous = "continuous"


class RenderSettings(_Strict):
    backend: Literal["animatic", "diffusers"] = Field(
        "animatic", description="'animatic' (CPU, the default) or 'diffusers' (GPU)."
    )
    options: dict[str, Any] = Field(
        default_factory=dict, description="Backend options (the backend documents and checks them)."
    )


class SoundSettings(_Strict):
    loudness: float = Field(-23.0, strict=True, ge=-36, le=-8, description="Integrated loudness target in LUFS: -23 (EBU R128) or -14 (web).")
    music: Literal["midi", "model"] = Field(
        "midi", description="'midi': cues composed and played with FluidSynth; 'model': a music model from the registry."
    )
    music_model: str = Field("musicgen-small", description="Registry name of the music model when music is 'model'.")
    effects: Literal["ambience", "model"] = Field(
        "ambience",
        description="'ambience': the procedural room/ambience bed only; 'model': also the sound the video model "
        "made with each shot (foley, room), as an effects stem under the dialogue.",
    )


class FilmSettings(_Strict):
    title: str = Field(min_length=1, max_length=200)
    fps: int = Field(24, strict=True, ge=1, le=120, description="Frames per second.")
    resolution: str = Field(
        "854x480",
        pattern=r"^[1-9][0-9]{1,4}x[1-9][0-9]{1,4}$",
        description="Width x height in pixels, both even, e.g. 854x480 or 1280x720.",
    )
    look: str = Field("", max_length=2000, description="The visual style, in words (e.g. 'warm 35mm, soft contrast').")
    negative: str = Field("", max_length=2000, description="What the look avoids (generators use it as a negative prompt).")
    seed: int = Field(0, strict=True, ge=0, le=2**32 - 1, description="Base seed; every shot's seed derives from it.")
    title_cards: bool = Field(False, strict=True, description="Show each scene heading on a title card.")
    title_page: dict[Annotated[str, Field(min_length=1, max_length=40)], Annotated[str, Field(max_length=1000)]] = Field(
        default_factory=dict,
        description="The screenplay's title page beyond the title: Credit, Author, Source, Draft date, Contact, ... "
        "(`studio import` fills it from Fountain and Final Draft).",
    )
    render: RenderSettings = Field(default_factory=RenderSettings)  # type: ignore[arg-type]
    sound: SoundSettings = Field(default_factory=SoundSettings)  # type: ignore[arg-type]


class Voice(_Strict):
    engine: Literal["piper", "espeak-ng", "transformers"] = "piper"
    voice: str | None = Field(None, description="Engine voice name (e.g. 'en-us+m3' for espeak-ng).")
    rate: float = Field(1.0, strict=True, ge=0.5, le=2.0, description="Speaking rate, 1.0 = natural.")
    pitch: float = Field(0.0, strict=True, ge=-12, le=12, description="Pitch shift in semitones.")
    seed: int | None = Field(None, strict=True, ge=0, description="Seed for variation between takes.")


class LikenessPhotos(_Strict):
    photos: list[str] = Field(min_length=1, description="Photos of the person, relative to the screenplay.")
    consent: str = Field(min_length=1, description="The person's consent statement.")


class CharacterLora(_Strict):
    """A LoRA that carries the character's look, active only in the
    shots where the character is on screen."""

    source: str = Field(
        min_length=1, max_length=1000,
        description="A .safetensors file or a folder holding one, relative to the screenplay; or a Hugging Face "
        "hub id (org/name) with weight_name.",
    )
    weight: float = Field(1.0, strict=True, ge=-8, le=8, description="Its strength (1.0: as trained).")
    adapter_name: str | None = Field(
        None, pattern=r"^[A-Za-z0-9_-]{1,64}$",
        description="The name the pipeline knows it by (default: the character's id, numbered when it has several).",
    )
    trigger: str = Field("", max_length=500, description="Trigger words: put in the prompt of every shot where the "
                         "character is on screen.")
    weight_name: str | None = Field(None, max_length=500, description="The file in a hub repository or a folder.")
    revision: str | None = Field(None, max_length=200, description="The hub repository's commit, branch or tag.")
    model: str | None = Field(None, max_length=200, description="Registry name of the model it was trained for "
                              "(default: every video model of the film).")


class Character(_Strict):
    id: Id
    name: str = Field(min_length=1, max_length=100)
    description: str = Field("", max_length=2000, description="Appearance, in words; every shot's prompt uses it.")
    voice: Voice = Field(default_factory=Voice)  # type: ignore[arg-type]
    likeness: Annotated[
        Union[Annotated[Id, Tag("likeness:name")], Annotated[LikenessPhotos, Tag("likeness:photos")]],
        Discriminator(
            lambda v: "likeness:photos" if isinstance(v, (dict, LikenessPhotos)) else "likeness:name",
            custom_error_type="likeness",
            custom_error_message="expected an enrolled likeness name or {photos: [...], consent: ...}",
        ),
    ] | None = Field(None, description="An enrolled likeness name (`studio likeness add`), or photos with consent.")
    references: list[str] = Field(default_factory=list, description="Reference images, relative to the screenplay.")
    loras: list[CharacterLora] = Field(
        default_factory=list, description="LoRAs for the character, active only in shots where it is on screen."
    )


class Location(_Strict):
    id: Id
    name: str = Field("", max_length=200)
    description: str = Field("", max_length=2000)
    interior: bool | None = Field(None, strict=True, description="Inside (true) or outside (false); read from headings when absent.")
    references: list[str] = Field(default_factory=list, description="Reference images, relative to the screenplay.")


class ActionBeat(_Strict):
    action: str = Field(min_length=1, max_length=5000)
    focus: str | None = Field(None, description="An object the action singles out: it gets an insert shot.")
    id: Id | None = None


class DialogueBeat(_Strict):
    speaker: Id
    line: str = Field(min_length=1, max_length=5000)
    parenthetical: str | None = Field(None, max_length=200, description="Delivery: whispering, shouting, beat, ...")
    extension: str | None = Field(
        None, max_length=20, description="Screenplay extension: 'V.O.' or 'O.S.' (heard, not seen), 'CONT'D'."
    )
    overlaps: bool = Field(
        False, strict=True, description="Spoken over the line before it, at the same time (dual dialogue, a joint cue): "
        "both speakers are framed."
    )
    id: Id | None = None

    @property
    def off_screen(self) -> bool:
        return (self.extension or "").upper().replace(" ", "") in {"V.O.", "O.S.", "O.C.", "VO", "OS", "OC"}


class TransitionBeat(_Strict):
    transition: str = Field(min_length=1, max_length=100, description="e.g. 'CUT TO:', 'DISSOLVE TO:', 'FADE OUT.'")
    id: Id | None = None


def _beat_kind(value: Any) -> str | None:
    if isinstance(value, dict):
        for key, tag in (("action", "action"), ("speaker", "dialogue"), ("line", "dialogue"), ("transition", "transition")):
            if key in value:
                return f"beat:{tag}"
    elif isinstance(value, BaseModel):
        return {"ActionBeat": "beat:action", "DialogueBeat": "beat:dialogue", "TransitionBeat": "beat:transition"}.get(
            type(value).__name__
        )
    return None


Beat = Annotated[
    Union[
        Annotated[ActionBeat, Tag("beat:action")],
        Annotated[DialogueBeat, Tag("beat:dialogue")],
        Annotated[TransitionBeat, Tag("beat:transition")],
    ],
    Discriminator(
        _beat_kind,
        custom_error_type="beat_kind",
        custom_error_message="a beat needs 'action', 'speaker' with 'line', or 'transition'",
    ),
]


class MusicCue(_Strict):
    mood: str | None = Field(None, max_length=100, description="e.g. tense, tender, triumphant, eerie.")
    tempo: int | None = Field(None, strict=True, ge=30, le=240, description="Beats per minute.")
    key: str | None = Field(
        None,
        pattern=r"^[A-Ga-g](#|b)?( ?(major|minor|maj|min|m))?$",
        description="e.g. 'D minor', 'F# major', 'Bb'.",
    )
    description: str | None = Field(None, max_length=500, description="Free text for the composer.")


class ShotSpec(_Strict):
    id: Id
    size: ShotSize
    move: CameraMove = CameraMove.static
    subjects: list[Id] = Field(default_factory=list, description="Characters the shot is on.")
    duration: float | None = Field(None, strict=True, gt=0, le=600, description="Seconds; grows to fit its dialogue.")
    continuity: Continuity = Continuity.cut
    description: str = Field("", max_length=2000)
    covers: list[Annotated[Union[Annotated[Id, Tag("ref:id")], Annotated[int, Field(ge=1), Tag("ref:number")]], Discriminator(
        lambda v: "ref:number" if isinstance(v, int) and not isinstance(v, bool) else "ref:id",
        custom_error_type="beat_ref",
        custom_error_message="expected a beat id or a 1-based beat number",
    )]] = Field(
        default_factory=list,
        description="Beats this shot covers: beat ids, or 1-based beat numbers in the scene.",
    )


class Scene(_Strict):
    id: Id
    heading: str | None = Field(None, max_length=200, description="e.g. 'EXT. LIGHTHOUSE - DUSK'; written for you when absent.")
    location: Id
    time: TimeOfDay = TimeOfDay.day
    period: str | None = Field(
        None, max_length=100, description="When the scene happens beyond the time of day: a year or era ('1973'), "
        "'DAY 2', 'FLASHBACK'. Prompts and cards use it."
    )
    continues: bool = Field(
        False, strict=True, description="The scene continues the previous one without a jump in time (CONTINUOUS, MOMENTS "
        "LATER): at the same location its first shot picks up the previous scene's last shot."
    )
    act: str | None = Field(None, max_length=200, description="The act or sequence the scene opens (a chapter of the cut).")
    synopsis: str | None = Field(None, max_length=2000, description="What the scene is for, in the writer's words "
                                 "(a note; nothing is filmed from it).")
    characters: list[Id] = Field(default_factory=list, description="Characters present in the scene.")
    beats: list[Beat] = Field(default_factory=list)
    music: MusicCue | None = None
    shots: list[ShotSpec] | None = Field(None, description="Explicit shots; derived by the coverage planner when absent.")


class Screenplay(_Strict):
    version: Literal[1] = Field(description="Format version; 1.")
    film: FilmSettings
    characters: list[Character] = Field(default_factory=list)
    locations: list[Location] = Field(min_length=1)
    scenes: list[Scene] = Field(min_length=1)

    _source: Any = PrivateAttr(None)  # SourceMap: where each value came from
    _warnings: list[Any] = PrivateAttr(default_factory=list)
    _base_dir: Any = PrivateAttr(None)
    _allow_outside: bool = PrivateAttr(False)

    @property
    def source(self) -> Any:
        return self._source

    @property
    def warnings(self) -> list[Any]:
        return list(self._warnings)

    @property
    def base_dir(self) -> Any:
        return self._base_dir

    # -- conveniences over the validated data --------------------------------
    def character(self, character_id: str) -> Character:
        return next(c for c in self.characters if c.id == character_id)

    def location(self, location_id: str) -> Location:
        return next(loc for loc in self.locations if loc.id == location_id)

    @property
    def size(self) -> tuple[int, int]:
        w, h = self.film.resolution.split("x")
        return int(w), int(h)
