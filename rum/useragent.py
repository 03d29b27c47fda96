"""User agents parsed into browser, OS and device class with ua-parser."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from ua_parser import parse

DESKTOP, MOBILE, TABLET, BOT, OTHER = "desktop", "mobile", "tablet", "bot", "other"
DEVICE_CLASSES = (DESKTOP, MOBILE, TABLET)
MOBILE_OS = {"iOS", "Android", "Windows Phone", "BlackBerry OS", "KaiOS", "Firefox OS", "HarmonyOS"}
TABLET_WORDS = ("iPad", "Tablet", "Kindle", "Nexus 7", "Nexus 9", "Nexus 10")
MAX_UA_LENGTH = 512


@dataclass(frozen=True)
class Client:
    browser: str
    os: str
    device: str


@lru_cache(maxsize=4096)
def _parse(user_agent: str) -> Client:
    result = parse(user_agent)
    browser = result.user_agent.family if result.user_agent else ""
    os_family = result.os.family if result.os else ""
    device = result.device
    words = " ".join(filter(None, [device.family, device.brand, device.model])) if device else ""
    if device and device.family == "Spider":
        kind = BOT
    elif any(word in words for word in TABLET_WORDS):
        kind = TABLET
    elif os_family in MOBILE_OS:
        kind = MOBILE
    elif os_family or browser:
        kind = DESKTOP
    else:
        kind = OTHER
    major = result.user_agent.major if result.user_agent else None
    label = f"{browser} {major}" if browser and major else browser
    return Client(label[:60], os_family[:60], kind)


def classify(user_agent: str) -> Client:
    if not user_agent:
        return Client("", "", OTHER)
    return _parse(user_agent[:MAX_UA_LENGTH])
