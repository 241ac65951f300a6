"""The web console (客服工作台): a static single-page app plus a thin gateway to the services' APIs."""
