"""Training and data harnesses, an application above the runtime that runs the control loop: the learning
pipeline (``stages``, ``correctors``), expert and symbol-following episode generators (``expert_episode``,
``symbols.generate``), the VQA export (``vqa_export``) and the AFIL trainer (optional extra
``failforward[train]``). The runtime never imports this package (an import-linter contract).

Example:
    python -m failforward.learn.train --episodes runs/demo --out runs/afil --export models/afil_demo
"""
