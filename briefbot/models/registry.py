"""Turn the configured model name into a loaded summarizer, or fail clearly."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from briefbot.models.base import ModelLoadError, Summarizer
from briefbot.models.runtime import RuntimeOptions
from briefbot.models.seq2seq import GenerationOptions, Seq2SeqSummarizer

logger = logging.getLogger(__name__)

EMBEDDED_MODEL = "embedded"
DEFAULT_MODELS_DIR = Path("data/models")


def folder_name(spec: str) -> str:
    """Where `briefbot models pull owner/name` puts a model inside the models folder."""
    return spec.strip("/").replace("/", "--")


@dataclass(frozen=True, slots=True)
class LocalModel:
    name: str
    path: Path
    architecture: str


def local_models(models_dir: Path) -> list[LocalModel]:
    """Seq2seq model folders in `models_dir` (those with a config.json)."""
    import json

    found = []
    if models_dir.is_dir():
        for folder in sorted(p for p in models_dir.iterdir() if (p / "config.json").is_file()):
            try:
                config = json.loads((folder / "config.json").read_text())
            except (OSError, ValueError):
                continue
            architecture = ",".join(config.get("architectures") or [config.get("model_type", "?")])
            found.append(LocalModel(folder.name.replace("--", "/"), folder, architecture))
    return found


def resolve_model_folder(spec: str, models_dir: Path) -> Path | None:
    candidate = Path(spec).expanduser()
    if candidate.is_dir():
        return candidate
    pulled = models_dir / folder_name(spec)
    if pulled.is_dir():
        return pulled
    return None


def load_summarizer(
    spec: str,
    *,
    threads: int | None = None,
    models_dir: Path = DEFAULT_MODELS_DIR,
    runtime: RuntimeOptions | None = None,
    generation: GenerationOptions | None = None,
) -> Summarizer:
    """Load the summarizer named by `spec`; raises ModelLoadError, never falls back silently.

    `spec` is "embedded", a folder with a Hugging Face seq2seq model, the name of a model
    pulled into `models_dir`, or a hub name already in the Hugging Face cache.
    """
    if spec == EMBEDDED_MODEL:
        from briefbot.models.embedded import EmbeddedSummarizer

        summarizer = EmbeddedSummarizer.load(threads=threads)
        logger.info("Loaded summarizer %s", summarizer.name)
        return summarizer

    runtime = runtime or RuntimeOptions(threads=threads)
    folder = resolve_model_folder(spec, models_dir)
    if folder is not None and runtime.engine == "ctranslate2":
        from briefbot.models.ct2 import CTranslate2Summarizer

        return CTranslate2Summarizer.load_converted(
            folder, models_dir, source=spec, runtime=runtime, generation=generation
        )
    if folder is not None:
        return Seq2SeqSummarizer.load(folder, source=spec, runtime=runtime, generation=generation)
    if runtime.engine == "ctranslate2":
        raise ModelLoadError(
            f"model {spec!r} was not found as a folder or in {models_dir}/; the ctranslate2 "
            f"runtime converts local folders: run `briefbot models pull {spec}` first"
        )
    if Path(spec).expanduser().is_absolute() or spec.startswith("."):
        raise ModelLoadError(f"model folder {spec} does not exist")
    try:
        return Seq2SeqSummarizer.load(
            spec, source=spec, runtime=runtime, generation=generation, local_only=True
        )
    except ModelLoadError:
        raise ModelLoadError(
            f"model {spec!r} was not found: it is not a folder, not in {models_dir}/ and not in "
            f"the Hugging Face cache; run `briefbot models pull {spec}` where the network allows"
        ) from None


def pull_model(spec: str, models_dir: Path) -> Path:
    """Download a hub model into `models_dir` for offline use; raises ModelLoadError."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError

    target = models_dir / folder_name(spec)
    try:
        snapshot_download(
            repo_id=spec,
            local_dir=target,
            allow_patterns=["*.json", "*.safetensors", "*.model", "*.txt", "*.spm", "merges.txt"],
        )
    except (HfHubHTTPError, OSError, ValueError) as exc:
        raise ModelLoadError(f"cannot download {spec!r}: {str(exc).splitlines()[0]}") from exc
    return target
