from __future__ import annotations

from tests.knowledge.conftest import ParseFile

PAGE = """<!doctype html>
<html lang="en">
<head>
  <title>Shipping | Acme</title>
  <link rel="canonical" href="https://acme.example/help/shipping">
  <meta name="description" content="How and when we ship.">
  <style>body { color: red }</style>
  <script>var tracking = "SCRIPT-TEXT";</script>
</head>
<body>
  <header><a href="/">Acme home</a><nav><a href="/shop">Shop menu</a></nav></header>
  <nav>Breadcrumb trail</nav>
  <main>
    <h1>Shipping</h1>
    <p>We ship <b>every</b> weekday. <a href="/x">See zones</a>.<script>alert("INLINE-SCRIPT")</script></p>
    <h2>Times</h2>
    <ul><li>EU: 2 days</li><li><p>US: 5 days</p></li></ul>
    <h3>Express</h3>
    <p>Next day<br>before noon.</p>
    <form><label>Newsletter signup</label><input name="email"></form>
    <h2>Prices</h2>
    <table><tr><th>Zone</th><th>Price</th></tr><tr><td>EU</td><td>5 EUR</td></tr></table>
    <aside>Related articles</aside>
    <noscript>Enable JavaScript</noscript>
    <svg><text>SVG-TEXT</text></svg>
    <template><p>TEMPLATE-TEXT</p></template>
    <p hidden>Hidden text</p>
  </main>
  <footer>Copyright Acme</footer>
</body>
</html>
"""


def test_main_text_by_section_without_boilerplate(parse_file: ParseFile) -> None:
    document = parse_file("shipping.html", PAGE)
    assert document.title == "Shipping | Acme"
    assert document.url == "https://acme.example/help/shipping"
    assert document.metadata == {"description": "How and when we ship."}
    assert [(chunk.section, chunk.text) for chunk in document.chunks] == [
        ((), "We ship every weekday. See zones."),
        (("Times",), "- EU: 2 days\n- US: 5 days"),
        (("Times", "Express"), "Next day\nbefore noon."),
        (("Prices",), "Zone | Price\nEU | 5 EUR"),
    ]
    everything = "\n".join(chunk.text for chunk in document.chunks)
    for boilerplate in (
        "SCRIPT-TEXT", "INLINE-SCRIPT", "color", "Acme home", "Shop menu", "Breadcrumb", "Newsletter", "Related",
        "JavaScript", "SVG-TEXT", "TEMPLATE-TEXT", "Hidden text", "Copyright",
    ):
        assert boilerplate not in everything


def test_without_main_an_article_is_read_and_its_own_header_kept(parse_file: ParseFile) -> None:
    document = parse_file("post.htm", """<html><body>
        <header>Site banner</header>
        <div class="sidebar-ish">Outside the article</div>
        <article><header><h1>Gift cards</h1><p>Updated in May</p></header><p>They never expire.</p></article>
        <footer>Site footer</footer>
        </body></html>""")
    assert document.title == "Gift cards"  # no <title>: the first h1
    assert document.url is None
    assert [(chunk.section, chunk.text) for chunk in document.chunks] == [((), "Updated in May\n\nThey never expire.")]


def test_a_page_without_main_or_article_reads_the_body_minus_furniture(parse_file: ParseFile) -> None:
    document = parse_file("contact-us.html", """<body><header>Banner</header><div role="navigation">Menu</div>
        <h2>Phone</h2><div>Call us on <span>0800 123</span>.</div><h2>Post</h2><div>Write to us.</div>
        <footer>Footer</footer></body>""")
    assert document.title == "Contact Us"  # no <title> and no h1: the stem
    assert [(chunk.section, chunk.text) for chunk in document.chunks] == [
        (("Phone",), "Call us on 0800 123."),
        (("Post",), "Write to us."),
    ]


def test_a_page_without_title_or_headings_is_titled_by_its_stem(parse_file: ParseFile) -> None:
    document = parse_file("store-hours.html", "<p>Nine to five.</p>")
    assert document.title == "Store Hours"


def test_a_relative_canonical_link_is_made_absolute_by_base_or_dropped(parse_file: ParseFile) -> None:
    based = parse_file("a.html", '<head><base href="https://acme.example/help/"><link rel="Canonical" href="a"></head><p>x</p>')
    assert based.url == "https://acme.example/help/a"
    relative = parse_file("b.html", '<head><link rel="canonical" href="/b"></head><p>x</p>')
    assert relative.url is None


def test_preformatted_text_keeps_its_lines(parse_file: ParseFile) -> None:
    document = parse_file("api.html", "<main><h1>API</h1><pre>curl \\\n  -H 'x: 1'</pre></main>")
    assert document.chunks[0].text == "curl \\\n  -H 'x: 1'"
