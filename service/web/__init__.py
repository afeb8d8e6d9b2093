"""The web pages: one blueprint per audience (schools, recommenders, platform staff) over the same core and store.

Pages are rendered on the server and work without JavaScript; each page's data is also served as JSON at the
same URL (``?format=json`` or ``Accept: application/json``). Sessions are signed cookies (HttpOnly, SameSite=Lax,
Secure when served over HTTPS); every form carries a CSRF token (Flask-WTF); the token-authenticated API is exempt.
"""

from __future__ import annotations

from flask import Blueprint, Flask, Response
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()

# Pages load only their own scripts, styles and images, cannot be framed by another site (clickjacking on the
# admin pages), and are not sniffed into another type.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
                               "script-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
                               "frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def _secure_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def _strict_transport(response: Response) -> Response:
    response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    return response


def init_web(app: Flask, token_api: Blueprint) -> None:
    """The pages' blueprints, CSRF protection, security headers and template helpers. ``token_api`` (registered
    before) authenticates by bearer token, not by cookie, so it and the blueprints nested in it are exempt from
    CSRF: Flask-WTF compares a request's own blueprint only, not its parents."""
    if app.config.get("HTTPS"):
        # Served over HTTPS (JTH_HTTPS=true behind the proxy): the cookie never travels in clear, and browsers
        # are told to use nothing but HTTPS for this site for a year (HSTS).
        app.config["SESSION_COOKIE_SECURE"] = True
        app.after_request(_strict_transport)
    csrf.init_app(app)

    from service.forms.catalog import catalog, forms_layer
    from service.web import accounts, admin, auth, designer, help_pages, mailbox, notices, pages, recommender, schools

    # Forms published in the form designer live in the instance folder (FORMS_DATA), laid over the shipped data by
    # every process's catalogue; the CLI and the workers build the app through here too.
    catalog.use_layer(forms_layer(app))

    for name, blueprint in app.blueprints.items():
        if name == token_api.name or name.startswith(token_api.name + "."):
            csrf.exempt(blueprint)
    app.register_blueprint(auth.bp)
    app.register_blueprint(schools.bp)
    app.register_blueprint(recommender.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(accounts.bp)
    app.register_blueprint(help_pages.bp)
    app.register_blueprint(notices.bp)
    app.register_blueprint(mailbox.bp)
    app.register_blueprint(designer.bp)
    app.add_template_filter(pages.beijing_time, "beijing")
    app.before_request(auth.load_user)
    app.after_request(_secure_headers)
    app.context_processor(auth.template_context)
