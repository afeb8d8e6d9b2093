"""Plain helpers for tests that drive Debian's chromium with Playwright (the fixtures are in tests/web/conftest.py)."""

from __future__ import annotations

from pathlib import Path

from tests.support.samples import ROOT

ARTIFACTS = ROOT / "test-artifacts"
PASSWORD = "correct-horse-9"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]


def shot(page, name: str) -> Path:
    """A full-page screenshot in ``test-artifacts/<name>.png`` for a person to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def login(page, base: str, username: str) -> None:
    """Sign in through the login form as one of the users the ``server`` fixture creates."""
    page.goto(f"{base}/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()


AXE_TAGS = ["wcag2a", "wcag2aa"]


def axe_violations(page) -> list[dict]:
    """What axe-core (bundled by axe-playwright-python) finds against WCAG 2.0 A and AA on the page as it is now."""
    from axe_playwright_python.sync_playwright import Axe

    options = {"runOnly": {"type": "tag", "values": AXE_TAGS}, "resultTypes": ["violations"]}
    return Axe().run(page, options=options).response["violations"]


def describe(violations: list[dict]) -> str:
    """The violations one per line: rule, impact, what it means, and the elements (CSS selector and HTML)."""
    lines = []
    for v in violations:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']}")
        for node in v["nodes"][:8]:
            lines.append(f"    {', '.join(map(str, node['target']))}: {node['html'][:160]}")
    return "\n".join(lines)


def assert_accessible(page, name: str) -> None:
    """No WCAG 2.0 A/AA violation that axe can find on the page; the list of them in the message otherwise."""
    violations = axe_violations(page)
    assert not violations, f"{name} ({page.url}) has {len(violations)} accessibility violations:\n{describe(violations)}"


def fits_the_width(page) -> bool:
    """The page does not scroll sideways (wide tables scroll inside their own container)."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def focused(page) -> str:
    """The id of the element that has the keyboard focus ("" for none, or one without an id)."""
    return page.evaluate("document.activeElement ? document.activeElement.id : ''")


def tab_to(page, selector: str, *, key: str = "Tab", limit: int = 400) -> int:
    """Press Tab (or ``key``, e.g. Shift+Tab) until the element matching ``selector`` has the focus, as a person
    without a mouse does; how many presses it took. Fails if the focus never gets there."""
    for presses in range(1, limit + 1):
        page.keyboard.press(key)
        if page.evaluate("s => document.activeElement && document.activeElement.matches(s)", selector):
            return presses
    raise AssertionError(f"{key} never reached {selector} in {limit} presses")
