"""What every page the server shows is sent with: a strict security policy, and the site's icon."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

FAVICON = Path(__file__).resolve().parent / "static" / "favicon.svg"
# Pages show customers' and staff's text: even a rendering slip must not run a script or load
# from elsewhere. Scripts, styles, images (the icon) and sockets come from this server only.
POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors {framers}"
)
NOT_FRAMED = "'none'"
FRAMED_ANYWHERE = "*"


def page_headers(framers: str = NOT_FRAMED) -> dict[str, str]:
    """Headers for an HTML page; `framers` is the CSP source list of sites that may frame it."""
    return {
        "Content-Security-Policy": POLICY.format(framers=framers),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
    }


async def favicon(_request: web.Request) -> web.FileResponse:
    return web.FileResponse(
        FAVICON,
        headers={"Content-Type": "image/svg+xml", "Cache-Control": "public, max-age=86400", **page_headers()},
    )


def routes() -> list[web.AbstractRouteDef]:
    return [web.get("/favicon.svg", favicon)]
