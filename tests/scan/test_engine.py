"""The OCR engine runs from the models installed with it: a server without internet access reads scans too."""

from __future__ import annotations

from pathlib import Path

import rapidocr

from service.office.ocr import MODELS, engine, engine_name


def test_the_engine_uses_only_the_models_its_package_ships():
    shipped = Path(rapidocr.__file__).resolve().parent / "models"
    cfg = engine().cfg
    for part, name in MODELS.items():
        path = Path(cfg[part]["model_path"])
        assert path == shipped / name and path.is_file(), part
    recognizer = engine()._load_rec_model()
    assert recognizer.session.have_key()  # its characters come from the model, no dictionary is downloaded
    assert "〔" in recognizer.postprocess_op.character and "☑" in recognizer.postprocess_op.character
    assert engine_name().startswith("RapidOCR 3.10")
