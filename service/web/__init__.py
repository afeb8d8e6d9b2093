"""The web pages: one blueprint per audience (schools, recommenders, platform staff) over the same core and store.

Pages are rendered on the server and work without JavaScript; each page's data is also served as JSON at the
same URL (``?format=json`` or ``Accept: application/json``). Sessions are signed cookies (HttpOnly, SameSite=Lax,
Secure when served over HTTPS); every form carries a CSRF token (Flask-WTF); the token-authenticated API is exempt.
"""

from __future__ import annotations

from flask import Flask
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()


def init_web(app: Flask) -> None:
    if app.config.get("HTTPS"):
        # Served over HTTPS (JTH_HTTPS=true behind the proxy): the cookie never travels in clear.
        app.config["SESSION_COOKIE_SECURE"] = True
    csrf.init_app(app)

    from .. import api
    from . import admin, auth, recommender, schools

    csrf.exempt(api.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(schools.bp)
    app.register_blueprint(recommender.bp)
    app.register_blueprint(admin.bp)
    app.before_request(auth.load_user)
    app.context_processor(auth.template_context)
