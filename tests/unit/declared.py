"""Declarations the tests' throwaway projects append to their expectation files: a project
declares the models its claims name (reprokit/declarations.py), as any user's project does."""

STACK4 = """\
models:
  stack4:
    steps: null
    features: null
    layers:
      - {kind: embedding, input_dim: 10000, output_dim: 32}
      - {kind: recurrent, cell: simple, units: 32, return_sequences: true}
      - {kind: recurrent, cell: simple, units: 32, return_sequences: true}
      - {kind: recurrent, cell: simple, units: 32, return_sequences: true}
      - {kind: recurrent, cell: simple, units: 32}
      - {kind: dense, units: 1, activation: sigmoid}
"""
