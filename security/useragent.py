"""A user agent's class for security events: browser, bot, script/CLI or unknown.

Deliberately coarse: it tells a person clicking in a browser from a crawler, a
scraper such as Prometheus, or a script (curl, an HTTP library). A client can
claim any of these, so it is a hint, never a decision.
"""

from __future__ import annotations

from security.models import BOT, BROWSER, SCRIPT, UNKNOWN

BOT_WORDS = ("bot", "crawler", "spider", "slurp", "prometheus", "monitor", "uptime")
SCRIPT_PREFIXES = (
    "curl/", "wget/", "python", "go-http-client", "java/", "okhttp", "libwww-perl",
    "httpie/", "powershell", "node-fetch", "axios/", "ruby", "php", "aiohttp",
    "apache-httpclient", "insomnia", "postmanruntime", "undici",
)  # fmt: skip


def classify(user_agent: str | None) -> str:
    text = (user_agent or "").strip().lower()
    if not text:
        return UNKNOWN
    if any(word in text for word in BOT_WORDS):
        return BOT
    if text.startswith(SCRIPT_PREFIXES):
        return SCRIPT
    if text.startswith("mozilla/") or text.startswith("opera/"):
        return BROWSER
    return UNKNOWN
