"""Training (optional extra ``failforward[train]``): the runtime never imports this package.

Example:
    python -m failforward.learn.train --episodes runs/demo --out runs/afil --export models/afil_demo
"""
