"""The data stage: raw code corpus (+ CoSyn-style, Code-Feedback-style) -> execution-validated
chat-format SFT dataset, on Ray Data. Library entry point: ``viscoder.data.pipeline.run_data``;
command: ``viscoder data``.
"""
