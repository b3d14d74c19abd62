"""Languages and fonts of the figures: English or Chinese labels, and CJK text in either.

Labels are written in English in the figure modules and passed through :func:`tr`, which
returns the Chinese label while a figure is drawn with ``lang="zh"`` (:func:`language`). Fonts
fall back from DejaVu Sans to Noto Sans CJK SC (the style file's ``font.family``), so Chinese
scenario names render in an English figure too. The CJK font comes from the Debian package
``fonts-noto-cjk``; when it is needed and missing, :func:`font_rc` fails with one line naming
that package.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Iterator

from matplotlib import font_manager

#: Languages figures can be drawn in.
LANGUAGES = ("en", "zh")
#: The font for CJK characters, and the package that installs it.
CJK_FONT = "Noto Sans CJK SC"
CJK_PACKAGE = "fonts-noto-cjk"
#: The font for everything else.
LATIN_FONT = "DejaVu Sans"

_CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]")
_current = ["en"]

#: English label -> Chinese label. Labels not listed stay in English.
ZH: dict[str, str] = {
    # metrics (experiments.figures.metrics)
    "Cohesion\n(mean member commitment, final year)": "凝聚力\n（党员平均投入，最后一年）",
    "Mobilization\n(peak participation share in the call)": "动员\n（号召期间参与率峰值）",
    "Burden\n(paperwork share of branch hours, final year)": (
        "负担\n（支部时间中台账占比，最后一年）"
    ),
    "Business performance\n(mean index of units with a branch, final year)": (
        "业务绩效\n（有支部单位的平均指数，最后一年）"
    ),
    "Sensing error\n(final year)": "感知误差\n（最后一年）",
    "Floating gap\n(formal - effective coverage, final year)": (
        "悬浮差\n（形式覆盖 - 有效覆盖，最后一年）"
    ),
    "Floating members\n(share without a branch, final year)": (
        "流动党员\n（无所属支部比例，最后一年）"
    ),
    "Identification\n(masses' mean, final year)": "认同\n（群众平均，最后一年）",
    "Effective coverage\n(masses reached, final year)": "有效覆盖\n（触达群众比例，最后一年）",
    "New strata and platform workers\n(share of recruits, final year)": (
        "新阶层与平台劳动者\n（新党员中占比，最后一年）"
    ),
    # panel words
    "Level": "水平",
    "Difference from {ref}": "与{ref}之差",
    "difference from {ref}\n(paired by seed)": "与{ref}之差\n（按种子配对）",
    "Years": "年",
    "Week": "周",
    "Levels, all scenarios": "水平（全部情景）",
    "{scenario} - {ref}": "{scenario} - {ref}",
    "seeds": "各种子",
    "mean and 95% CI": "均值与95%置信区间",
    "single run, no interval": "单次运行，无区间",
    "Escalation per layer (policy.escalation)": "逐层加码幅度（policy.escalation）",
    "Separate tables, by depth": "各部门分别考核，按层级深度",
    "{depth} levels, by assessment variant": "{depth}层，按考核方式",
    "Integration effort B (policy.integration_effort)": "融合投入 B（policy.integration_effort）",
    "Change from isolated (by traces), at effort {effort:g}": (
        "相对“两张皮”（按留痕评价）的变化，投入 {effort:g}"
    ),
    "evaluated by {evaluation}": "按{evaluation}评价",
    "traces": "留痕",
    "outcomes": "实效",
    "Coverage (policy.coverage)": "覆盖（policy.coverage）",
    "Embedding (policy.embedding: share dual-registered)": "嵌入（policy.embedding：双重登记比例）",
    "Openness (policy.openness)": "开放（policy.openness）",
    "Move to platforms": "转向平台",
    "no social change": "无社会变迁",
    "{share:.0%} of stable workers a year": "每年{share:.0%}稳定就业者",
    "Warning": "警告",
    # heatmaps (coverage_embedding)
    "Cohesion (mean member commitment, final year)": "凝聚力（党员平均投入，最后一年）",
    "Mobilization (peak share of people active in the call)": "动员（号召期间参与者比例峰值）",
    "Floating gap (formal - effective coverage, final year)": (
        "悬浮差（形式覆盖 - 有效覆盖，最后一年）"
    ),
    "Cohesion": "凝聚力",
    "Mobilization": "动员",
    "Floating gap": "悬浮差",
    "cell": "单元",
    # time series (social_change)
    "Floating members\n(share without a branch)": "流动党员\n（无所属支部比例）",
    "Floating gap\n(formal - effective coverage)": "悬浮差\n（形式覆盖 - 有效覆盖）",
    "Cohesion\n(mean member commitment)": "凝聚力\n（党员平均投入）",
    "Effective coverage\n(share of masses reached)": "有效覆盖\n（触达群众比例）",
    "Identification\n(masses' mean)": "认同\n（群众平均）",
    "New strata and platform workers\n(share of recruits, last year)": (
        "新阶层与平台劳动者\n（新党员中占比，最近一年）"
    ),
    # assessment variants and fusion modes
    "separate tables (default)": "各部门分别考核（默认）",
    "unified table": "一表统管",
    "simplified downward": "越往下越简化",
    "unified + simplified": "一表统管 + 向下简化",
    "narrowed\n(paperwork)": "窄化\n（台账）",
    "isolated\n(two skins)": "两张皮",
    "integrated": "融合",
    "generalized\n(replaces business)": "泛化\n（取代业务）",
    "the crisis call does not end within the run": "号召期未在运行期内结束",
}


def tr(text: str, **fields: object) -> str:
    """A label in the current language, with ``fields`` formatted in.

    Args:
        text: The English label (a key of :data:`ZH` when it has a translation).
        **fields: Values for the label's ``{placeholders}``.
    """
    out = ZH.get(text, text) if _current[0] == "zh" else text
    return out.format(**fields) if fields else out


def current() -> str:
    """The language figures are being drawn in."""
    return _current[0]


@contextlib.contextmanager
def language(lang: str) -> Iterator[None]:
    """Draw in ``lang`` inside the block.

    Raises:
        ValueError: If the language is not one of :data:`LANGUAGES` (one line).
    """
    if lang not in LANGUAGES:
        raise ValueError(f"figure.lang = {lang!r}: unknown; allowed: {', '.join(LANGUAGES)}")
    previous = _current[0]
    _current[0] = lang
    try:
        yield
    finally:
        _current[0] = previous


def has_cjk(texts: Iterable[object]) -> bool:
    """Whether any of the texts has a CJK character."""
    return any(_CJK.search(str(t)) for t in texts)


def cjk_available() -> bool:
    """Whether matplotlib can find the CJK font (refreshing its list once if fonts were added
    after matplotlib's font cache was built, e.g. by ``apt-get install`` in CI)."""
    if any(f.name == CJK_FONT for f in font_manager.fontManager.ttflist):
        return True
    for path in font_manager.findSystemFonts():
        if "NotoSansCJK" in path or "NotoSansSC" in path:
            with contextlib.suppress(Exception):  # an unreadable file is no font
                font_manager.fontManager.addfont(path)
    return any(f.name == CJK_FONT for f in font_manager.fontManager.ttflist)


class FontMissingError(RuntimeError):
    """The CJK font is needed but not installed; the message is one line."""


def font_rc(lang: str, texts: Iterable[object] = ()) -> dict[str, object]:
    """The font settings to draw ``texts`` in ``lang``.

    Args:
        lang: The figure language.
        texts: Labels drawn from the results (scenario names): CJK in them needs the CJK font
            in English figures too.

    Returns:
        rc settings: the fallback list DejaVu Sans, Noto Sans CJK SC if the CJK font is
        installed; DejaVu Sans alone otherwise (so matplotlib does not warn about a font that
        no label needs).

    Raises:
        FontMissingError: If Chinese is asked for, or a label has CJK characters, and the font
            is not installed.
    """
    need = lang == "zh" or has_cjk(texts)
    if cjk_available():
        return {"font.family": [LATIN_FONT, CJK_FONT]}
    if need:
        why = "figure.lang = zh" if lang == "zh" else "a scenario name has CJK characters"
        raise FontMissingError(
            f"font {CJK_FONT!r} not found ({why}); install the package {CJK_PACKAGE} "
            f"(apt-get install {CJK_PACKAGE}) and draw again"
        )
    return {"font.family": [LATIN_FONT]}
