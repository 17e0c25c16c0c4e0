"""The review page's HTML: plain values in, one self-contained HTML string out. Pure.

Everything the page needs is inline (CSS, a few lines of JS); images are relative links into the
folder of thumbnails beside the page, so it opens from disk with no server and no network. Every
name and path is escaped here, in one place. The page stays fast with thousands of frames because
thumbnails load lazily with their size known in advance (no reflow) and the JS does nothing per
image at load: one click handler on the document finds the frame that was clicked.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote

from burstd.models import Kind
from burstd.naming import natural_key
from burstd.wording import KIND_WORDS

WRITE_STATES = {"written": "written", "manual": "manual kept", "none": "no sidecar yet", "unreadable": "sidecar unreadable"}


@dataclass(frozen=True, slots=True)
class Picture:
    """One generated JPEG: its path relative to the page, and its pixel size."""

    href: str  # relative, '/'-separated
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class FaceMark:
    """A face to outline on a thumbnail: its box as fractions of the upright picture, and its eyes."""

    box: tuple[float, float, float, float]  # left, top, right, bottom
    eyes: str  # "open", "closed" or "unknown"


@dataclass(frozen=True, slots=True)
class ReportFrame:
    name: str  # the analysed file's name
    files: tuple[str, ...]  # every file of the shot (a RAW and its JPEG)
    rank: int
    rating: int | None  # what the sidecar holds; None: no rating there yet
    planned: int  # the rating burstd would write now
    state: str  # a key of WRITE_STATES
    score: float  # sharpness relative to the burst's best, 0..1
    offset: float | None  # seconds since the burst's first frame; None: the burst's time is unknown (no EXIF time)
    thumb: Picture | None
    preview: Picture | None
    crop: Picture | None
    crop_note: str  # why there is no crop, or what the crop shows
    faces: tuple[FaceMark, ...] = ()
    eyes_closed: bool = False  # one of the burst's people has closed eyes here

    @property
    def shown_rating(self) -> int:
        """The stars darktable will show: the sidecar's, else what burstd would write."""
        return self.planned if self.rating is None else self.rating


@dataclass(frozen=True, slots=True)
class ReportBurst:
    id: str
    folder: str
    frames: tuple[ReportFrame, ...]  # the pick first, then by rank; a set kept whole: in shooting order
    kind: Kind = Kind.BURST
    kept: bool = False  # a set kept whole: every frame rated alike, no pick
    why: str = ""  # why the pick won (`wording.pick_why`); empty for a set kept whole


@dataclass(frozen=True, slots=True)
class ReportPage:
    title: str
    totals: Sequence[tuple[str, int]]  # (label, count), shown in the header in this order
    bursts: Sequence[ReportBurst]  # shooting order
    single_shots: Sequence[ReportBurst]
    errors: Sequence[tuple[str, str]]  # (path, reason)


def render(page: ReportPage) -> str:
    """The whole page."""
    e = _esc
    totals = "".join(f'<span class="total" data-total="{e(label)}"><b>{n}</b> {e(label)}</span>' for label, n in page.totals)
    bursts = "".join(_burst(b, n) for n, b in enumerate(page.bursts, start=1)) or '<p class="empty">No bursts.</p>'
    singles = "".join(_frame(b.frames[0], single=True) for b in page.single_shots)
    errors = "".join(f"<li><code>{e(path)}</code>: {e(reason)}</li>" for path, reason in page.errors)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{e(page.title)}</title><style>{_CSS}</style></head><body>"
        f'<header><h1>{e(page.title)}</h1><div class="totals">{totals}</div>'
        '<p class="legend">Frames sharpest first (frames with closed eyes last); the pick is outlined. Bars: sharpness '
        "relative to the burst's sharpest. Sets (brackets, focus stacks, panoramas) are kept whole: their frames in "
        "shooting order, every frame rated alike, no pick. Faces are boxed: green eyes open, red eyes closed, grey "
        "unknown. Click a frame for a larger view and a 100% crop of the region the score was measured on.</p></header>"
        f'<main>{bursts}<section class="singletons"><h2>Single shots ({len(page.single_shots)})</h2>'
        f'<div class="grid">{singles}</div></section>'
        + (f'<section class="errors"><h2>Errors ({len(page.errors)})</h2><ul>{errors}</ul></section>' if page.errors else "")
        + '</main><div id="overlay" hidden><div class="panel"><div class="pics"><figure class="pv"><img id="ov-preview" alt="">'
        '<figcaption>preview</figcaption></figure><figure class="cr"><img id="ov-crop" alt=""><figcaption id="ov-crop-note">'
        '</figcaption></figure></div><p id="ov-caption"></p><p class="hint">Esc or click to close</p></div></div>'
        f"<script>{_JS}</script></body></html>\n"
    )


def _burst(burst: ReportBurst, number: int) -> str:
    e = _esc
    names = sorted((f.name for f in burst.frames), key=natural_key)
    first, last = names[0], names[-1]
    offsets = [f.offset for f in burst.frames]
    span = "time unknown" if None in offsets else f"{max(o for o in offsets if o is not None):.2f} s"
    frames = "".join(_frame(f, single=False, kept=burst.kept) for f in burst.frames)
    label = KIND_WORDS[burst.kind].capitalize()
    order = " · shooting order" if burst.kept else ""
    return (
        f'<section class="burst{" set" if burst.kept else ""}" data-burst-id="{e(burst.id)}" data-kind="{e(burst.kind)}">'
        f"<h2>{e(label)} {number} · {len(burst.frames)} frames · "
        f"{e(first)} – {e(last)} · {span}{order} <small>{e(burst.folder)}</small>"
        + (f'<small class="why">pick: {e(burst.why)}</small>' if burst.why else "") + "</h2>"
        f'<div class="frames">{frames}</div></section>'
    )


def _frame(f: ReportFrame, *, single: bool, kept: bool = False) -> str:
    e = _esc
    rating = f.shown_rating
    pick = not single and not kept and f.rank == 1
    attrs = {
        "class": "frame" + (" pick" if pick else "") + (" single" if single else "") + (" closed" if f.eyes_closed else ""),
        "data-name": f.name, "data-rank": str(f.rank), "data-rating": str(rating), "data-state": f.state,
        "data-preview": f.preview.href if f.preview else "", "data-crop": f.crop.href if f.crop else "",
        "data-crop-note": f.crop_note,
        "title": " + ".join(f.files) + (f"\nburstd would rate it {f.planned}" if f.rating not in (None, f.planned) else ""),
    }
    attr_text = " ".join(f'{k}="{e(v)}"' for k, v in attrs.items())
    if f.thumb:
        img = (f'<div class="pic"><img src="{e(f.thumb.href)}" width="{f.thumb.width}" height="{f.thumb.height}" '
               f'loading="lazy" alt="{e(f.name)}">{"".join(_face(m) for m in f.faces)}</div>')
    else:
        img = '<div class="noimg">no preview</div>'
    state = WRITE_STATES.get(f.state, f.state)
    caption = (
        f'<span class="stars">{_stars(rating)}</span>'
        + ("" if single else f'<span class="bar"><i style="width:{max(0.0, min(f.score, 1.0)) * 100:.0f}%"></i></span>')
        + f'<span class="meta">{e(f.name)}'
        + ("" if single else ("" if f.offset is None else f" · +{f.offset:.2f} s") + f" · {f.score:.2f}")
        + "</span>" + ('<span class="closed-mark">◉ eyes closed</span>' if f.eyes_closed else "")
        + f'<span class="state s-{e(f.state)}">{e(state)}</span>'
    )
    return f"<figure {attr_text}>{img}<figcaption>{caption}</figcaption></figure>"


def _face(m: FaceMark) -> str:
    """A face's outline over its thumbnail, placed in percentages so it follows the picture's size."""
    left, top, right, bottom = m.box
    return (f'<i class="face eyes-{_esc(m.eyes)}" title="eyes {_esc(m.eyes)}" style="left:{left * 100:.2f}%;'
            f'top:{top * 100:.2f}%;width:{(right - left) * 100:.2f}%;height:{(bottom - top) * 100:.2f}%"></i>')


def _stars(rating: int) -> str:
    if rating < 0:
        return '<span class="reject">✕ rejected</span>'
    return "★" * rating if rating else '<span class="zero">0 ★</span>'


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def href(*parts: str) -> str:
    """A relative URL from path parts, each percent-encoded (file names may hold any character)."""
    return "/".join(quote(p) for p in parts)


_CSS = """
:root{color-scheme:dark;--bg:#16181c;--card:#22252b;--fg:#e6e6e6;--dim:#9aa0a8;--pick:#f5c542;--bar:#4fa3e0}
*{box-sizing:border-box}body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.35 system-ui,sans-serif}
header{padding:12px 18px;border-bottom:1px solid #333;position:sticky;top:0;background:var(--bg);z-index:2}
h1{font-size:18px;margin:0 0 6px}h2{font-size:14px;font-weight:600;margin:0 0 6px;color:var(--dim)}
h2 small{font-weight:400;margin-left:8px}.totals{display:flex;gap:14px;flex-wrap:wrap}.total b{font-size:16px}
.legend{color:var(--dim);margin:6px 0 0;font-size:12px}main{padding:10px 18px}
section{margin:0 0 14px}.set .frames{border-left:3px solid var(--bar);padding-left:8px}.frames{display:flex;gap:8px;overflow-x:auto;padding:4px 2px 6px}
.grid{display:flex;flex-wrap:wrap;gap:6px}
.frame{margin:0;background:var(--card);border-radius:6px;padding:6px;flex:0 0 auto;cursor:zoom-in;
 outline:2px solid transparent;width:min-content}
.frame img,.noimg{display:block;height:120px;width:auto;border-radius:3px;background:#000}
.noimg{width:120px;display:grid;place-items:center;color:var(--dim)}
.frame.single img,.frame.single .noimg{height:80px}.frame.single .noimg{width:80px}
.frame.single .meta{max-width:140px;overflow:hidden;text-overflow:ellipsis}
.frame.pick{outline:3px solid var(--pick);background:#2d2a1e}
figcaption{display:flex;flex-direction:column;gap:2px;margin-top:4px;font-size:12px;min-width:120px}
.stars{color:var(--pick);letter-spacing:1px}.zero{color:var(--dim)}.reject{color:#e05a4f}
.bar{display:block;height:5px;background:#333;border-radius:3px}.bar i{display:block;height:100%;background:var(--bar);border-radius:3px}
.pic{position:relative;width:max-content}.face{position:absolute;border:2px solid #6cc070;border-radius:2px;pointer-events:none}
.face.eyes-closed{border-color:#e05a4f}.face.eyes-unknown{border-color:#9aa0a8;border-style:dashed}
.closed-mark{color:#e05a4f;font-size:11px}.frame.closed{background:#2e2022}h2 .why{font-weight:400;margin-left:8px;color:var(--fg)}
.meta{color:var(--dim);white-space:nowrap}.state{font-size:11px}.s-written{color:#6cc070}.s-manual{color:#e39b3b}
.s-none,.s-unreadable{color:var(--dim)}.errors code{color:#e05a4f}
#overlay{position:fixed;inset:0;background:rgba(0,0,0,.88);z-index:5;display:flex;align-items:center;justify-content:center;cursor:zoom-out}
#overlay[hidden]{display:none}.panel{display:flex;flex-direction:column;gap:8px;width:96vw;max-height:96vh}
.pics{display:flex;gap:14px;align-items:flex-start;justify-content:center;min-height:0}
.pics figure{margin:0;min-width:0}.pv{flex:1 1 0;display:flex;flex-direction:column;align-items:flex-end}.cr{flex:0 0 auto}
/* The crop keeps its pixels 1:1 when it fits: that is what makes it a 100% view. */
#ov-preview{max-width:100%;max-height:84vh;display:block}#ov-crop{max-width:min(800px,60vw);max-height:84vh;display:block}
.panel figcaption{color:var(--dim);font-size:12px}#ov-caption{text-align:center;margin:0}.hint{text-align:center;color:var(--dim);margin:0}
"""

# One delegated click handler: nothing runs per frame at load, so 2,000 frames cost nothing.
_JS = """
(function(){
const ov=document.getElementById('overlay'),pv=document.getElementById('ov-preview'),
 cr=document.getElementById('ov-crop'),note=document.getElementById('ov-crop-note'),cap=document.getElementById('ov-caption');
function close(){ov.hidden=true;pv.removeAttribute('src');cr.removeAttribute('src');}
document.addEventListener('click',function(ev){
 if(!ov.hidden){close();return;}
 const f=ev.target.closest('.frame');if(!f)return;
 if(f.dataset.preview){pv.src=f.dataset.preview;pv.hidden=false;}else{pv.hidden=true;}
 if(f.dataset.crop){cr.src=f.dataset.crop;cr.hidden=false;}else{cr.hidden=true;}
 note.textContent=f.dataset.cropNote;cap.textContent=f.title.split('\\n')[0]+' - '+f.querySelector('.state').textContent;
 ov.hidden=false;
});
document.addEventListener('keydown',function(ev){if(ev.key==='Escape'&&!ov.hidden)close();});
})();
"""
