"""The supervisors' dashboard page (server-rendered with jinja2; the data comes from
``GET /api/v1/dashboard/live`` with a staff token).

The page itself holds no data, so it is served without a token. The token is entered once in the
page (or passed in the URL *fragment*, ``/dashboard#token=…``, which browsers never send to the
server and the page removes from the address bar at once) and kept in ``sessionStorage`` only (gone
when the tab closes). Chart.js is vendored under ``static/vendor`` (MIT licence alongside): no CDN.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=select_autoescape(["html"])
)


def build_dashboard_router(*, refresh_seconds: int) -> APIRouter:
    router = APIRouter()

    @router.get("/dashboard", response_class=HTMLResponse, tags=["dashboard"], include_in_schema=True)
    async def dashboard(request: Request, lang: str = Query("zh", pattern="^(zh|en)$")) -> HTMLResponse:
        """客服数据看板 / support dashboard (HTML). Data is fetched by the page with a supervisor token."""
        html = TEMPLATES.get_template("dashboard.html").render(
            lang=lang, refresh_seconds=refresh_seconds, api="/api/v1/dashboard/live",
            static=str(request.url_for("static", path="")).rstrip("/"),
        )
        return HTMLResponse(html, headers={
            "Cache-Control": "no-store",
            "Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:",
            "Referrer-Policy": "no-referrer",
        })

    return router
