"""HTML through selectolax (lexbor): the page's main text by heading, its title and canonical link.

Site furniture (scripts, styles, navigation, the page header and footer, sidebars, forms) is
skipped; a `<main>` or a single `<article>` is read in preference to the whole body."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode

from agent.knowledge.parsing.blocks import Block, Heading, Parsed, Writer, collapsed, humanized, sections_of, title_heading
from agent.knowledge.parsing.chunks import chunks_of
from agent.knowledge.parsing.errors import UnreadableDocument

SKIPPED = frozenset({
    "script", "style", "nav", "aside", "form", "noscript", "svg", "template", "head", "iframe", "object", "embed",
    "canvas", "button", "select", "textarea", "input", "img", "picture", "video", "audio", "map", "dialog",
})
# A page's header and footer are furniture; an article's own (its h1 and byline) are content.
_FURNITURE_OUTSIDE_CONTENT = frozenset({"header", "footer"})
_CONTENT = frozenset({"main", "article"})
_SKIPPED_ROLES = frozenset({"navigation", "banner", "contentinfo", "complementary", "search"})
_HEADINGS = {f"h{level}": level for level in range(1, 7)}
_BLOCKS = frozenset({
    "address", "article", "blockquote", "body", "caption", "center", "details", "dd", "div", "dl", "dt", "fieldset",
    "figcaption", "figure", "footer", "header", "hgroup", "hr", "legend", "main", "p", "section", "summary", "table",
})
_LISTS = frozenset({"ul", "ol", "dl", "menu"})

# lexbor takes time in the square of the nesting for block elements: 2 MB of open <div>s would
# take minutes. Pages people write nest a few dozen deep; a count above this is generated junk.
MAX_NESTING = 2000
_TAG = re.compile(r"<(/?)([a-zA-Z][^\s/<>]*)([^<>]*)>")
# Tags that never nest: void elements, and those whose end tag the parser implies at the next one.
_NOT_NESTING = frozenset({
    "area", "base", "basefont", "bgsound", "br", "col", "embed", "frame", "hr", "img", "input", "keygen", "link", "meta",
    "param", "source", "track", "wbr", "p", "li", "dt", "dd", "tr", "td", "th", "thead", "tbody", "tfoot", "option",
    "optgroup", "rb", "rt", "rtc", "rp", "colgroup", "caption", "html", "head", "body",
})


def parse_html(text: str, stem: str) -> Parsed:
    """Title from `<title>`, else the first h1 of the main text, else the stem."""
    if _nesting(text) > MAX_NESTING:
        raise UnreadableDocument("HTML nested too deeply")
    tree = LexborHTMLParser(text)
    blocks = html_blocks(_content_root(tree))
    heading = title_heading(blocks)
    first_h1 = next((block for block in blocks if isinstance(block, Heading) and block.level == 1), None)
    title_node = tree.css_first("title")
    title = (collapsed(title_node.text()) if title_node else "") or (first_h1.text if first_h1 else humanized(stem))
    metadata: dict[str, str] = {}
    description = tree.css_first('meta[name="description"]')
    if description is not None and (content := collapsed(description.attributes.get("content") or "")):
        metadata["description"] = content
    return Parsed(title=title, chunks=chunks_of(sections_of(blocks, heading)), url=_canonical(tree), metadata=metadata)


def _nesting(text: str) -> int:
    """How deep the tags of `text` open, counted from the tags alone: a linear scan, before parsing."""
    depth = deepest = 0
    for tag in _TAG.finditer(text):
        closing, name, rest = tag.groups()
        if name.lower() in _NOT_NESTING or rest.endswith("/"):
            continue
        depth = max(depth - 1, 0) if closing else depth + 1
        deepest = max(deepest, depth)
    return deepest


def _content_root(tree: LexborHTMLParser) -> LexborNode:
    main = tree.css_first("main")
    if main is not None:
        return main
    articles = tree.css("article")
    # Several articles are a listing: the body holds them all.
    if len(articles) == 1:
        return articles[0]
    return tree.body or tree.root


def _canonical(tree: LexborHTMLParser) -> str | None:
    """The canonical link, made absolute against `<base href>`; None unless it is an http(s) URL."""
    base = tree.css_first("base[href]")
    for link in tree.css("link[rel]"):
        if "canonical" in (link.attributes.get("rel") or "").lower().split():
            href = (link.attributes.get("href") or "").strip()
            url = urljoin((base.attributes.get("href") or "").strip(), href) if base else href
            if urlsplit(url).scheme in ("http", "https") and urlsplit(url).netloc:
                return url
            return None
    return None


def html_blocks(root: LexborNode) -> list[Block]:
    """The headings and paragraphs under `root`; walked with a stack, since pages can nest deeply."""
    writer = Writer()
    lists: list[list[int]] = []  # per open list: [0] for bullets, [n] for the next number of an <ol>
    content = 0  # how many <main>/<article> elements are open around the node
    stack: list[tuple[LexborNode, bool]] = [(root, False)]
    while stack:
        node, leaving = stack.pop()
        tag = node.tag
        if leaving:
            if tag in _CONTENT:
                content -= 1
            if tag in _LISTS:
                lists.pop()
            if tag in _LISTS or tag in _BLOCKS or tag == "li":
                _break(writer, lists)
            continue
        if node.is_text_node:
            writer.add(node.text_content or "")
            continue
        if not node.is_element_node or _skipped(node, content):
            continue
        if tag in _HEADINGS:
            writer.heading(_HEADINGS[tag], _text(node))
            continue
        if tag == "pre":
            writer.preformatted(node.text(deep=True))
            continue
        if tag == "tr":
            writer.start_line()
            writer.add(" | ".join(_text(cell) for cell in node.iter() if cell.tag in ("td", "th")))
            writer.start_line()
            continue
        if tag == "br":
            writer.start_line()
            continue
        if tag in _CONTENT:
            content += 1
        if tag in _LISTS or tag in _BLOCKS:
            _break(writer, lists)
        if tag in _LISTS:
            lists.append([_start(node) if tag == "ol" else 0])
        if tag == "li":
            writer.start_line("  " * max(len(lists) - 1, 0) + _marker(lists))
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(list(node.iter(include_text=True))))
    writer.end_paragraph()
    return writer.blocks


def _skipped(node: LexborNode, content: int) -> bool:
    tag = node.tag
    if tag in SKIPPED or (tag in _FURNITURE_OUTSIDE_CONTENT and not content):
        return True
    attributes = node.attributes
    return (
        "hidden" in attributes
        or (attributes.get("aria-hidden") or "").lower() == "true"
        or (attributes.get("role") or "").lower() in _SKIPPED_ROLES
    )


def _text(node: LexborNode) -> str:
    """A heading's or a cell's text, a `<br>` as a space and skipped elements left out."""
    parts = []
    for inner in node.traverse(include_text=True):
        if inner.is_text_node and not _inside_skipped(inner, node):
            parts.append(inner.text_content or "")
        elif inner.tag == "br":
            parts.append(" ")
    return collapsed("".join(parts))


def _inside_skipped(inner: LexborNode, top: LexborNode) -> bool:
    parent = inner.parent
    while parent is not None and parent != top:
        if parent.tag in SKIPPED:
            return True
        parent = parent.parent
    return False


def _break(writer: Writer, lists: list[list[int]]) -> None:
    """Inside a list a block ends a line of the list's paragraph; outside, the paragraph itself."""
    if lists:
        writer.start_line()
    else:
        writer.end_paragraph()


def _start(node: LexborNode) -> int:
    start = (node.attributes.get("start") or "").strip()
    return int(start) if start.isdigit() and len(start) < 10 else 1


def _marker(lists: list[list[int]]) -> str:
    if not lists or lists[-1][0] == 0:
        return "- "
    number = lists[-1][0]
    lists[-1][0] += 1
    return f"{number}. "
