"""The bare Flask "hello world" that ``benchmarks/load.py`` serves beside the portal.

It is the yardstick: served by the same gunicorn command with the same workers on the same
machine in the same run, it shows what the server and Flask alone can do there, so the portal's
figures are read as a ratio to it rather than as absolute numbers on a noisy machine.
"""

from flask import Flask

app = Flask(__name__)


@app.route("/")
def hello() -> str:
    return "Hello, World!"
