from servicekit.runner import serve

from .app import DispatcherSettings, create_app

if __name__ == "__main__":
    serve(create_app, DispatcherSettings())
