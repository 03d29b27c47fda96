import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
READ = re.compile(
    r"""env_(?:str|bool|int|float|list|secret)\(\s*["']([A-Z0-9_]+)["']"""
    r"""|environ(?:\.get|\.setdefault)?[\[(]\s*["']([A-Z0-9_]+)["']"""
)
INTERNAL = {"DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"}


def variables_read() -> set[str]:
    found = set()
    for path in ROOT.glob("*/**/*.py"):
        if path.parts[len(ROOT.parts)] in {"tests", ".venv", "node_modules", "var"}:
            continue
        for match in READ.finditer(path.read_text()):
            found.add(match.group(1) or match.group(2))
    return found - INTERNAL


def test_every_environment_variable_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    variables = variables_read()
    assert {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "PORT"} <= variables
    missing = sorted(v for v in variables if f"`{v}`" not in readme)
    assert missing == [], f"add these to the README's configuration table: {missing}"
