"""Remote video backends (Runway, Veo, fal, MiniMax). Extra: `pip install 'ttv[remote]'`.

Modules here import their SDKs inside functions only; see `common.py` for the shared job loop and
the contract with the runner.
"""
