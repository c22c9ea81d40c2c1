"""``viscoder serve``: the model behind an OpenAI-compatible endpoint on Ray Serve + vLLM.
Library entry points: :func:`viscoder.serve.app.build_app` (builds, starts nothing) and
:func:`viscoder.serve.server.serve_forever`."""
