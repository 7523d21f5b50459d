"""Turn the configured model name into a loaded summarizer, or fail clearly."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from briefbot.models.base import ModelLoadError, Summarizer
from briefbot.models.runtime import RuntimeOptions
from briefbot.models.seq2seq import GenerationOptions, Seq2SeqSummarizer
from briefbot.models.served import ServedSummarizer, ServerOptions

logger = logging.getLogger(__name__)

EMBEDDED_MODEL = "embedded"
DEFAULT_MODELS_DIR = Path("data/models")
GGUF_SUFFIX = ".gguf"


def folder_name(spec: str) -> str:
    """Where `briefbot models pull owner/name` puts a model inside the models folder."""
    return spec.strip("/").replace("/", "--")


@dataclass(frozen=True, slots=True)
class LocalModel:
    name: str
    path: Path
    architecture: str
    kind: str  # "seq2seq", "causal LM" or "GGUF causal LM"
    size: int  # bytes on disk
    converted: tuple[str, ...]  # CTranslate2 copies made of it: "int8", "float"

    def describe(self) -> str:
        if self.path.suffix == GGUF_SUFFIX:
            runtimes = ["llama.cpp"]
        else:
            runtimes = ["transformers", *(f"ctranslate2 {kind}" for kind in self.converted)]
        size = f"{self.size / 1e9:.2f} GB" if self.size >= 1e9 else f"{self.size / 1e6:.0f} MB"
        return f"{self.kind}, {self.architecture}, {size}; runs on {' and '.join(runtimes)}"


def is_causal(config: dict[str, Any]) -> bool:
    """Whether a model's config.json describes a decoder-only (causal) LM."""
    return not config.get("is_encoder_decoder", False) and any(
        str(name).endswith("ForCausalLM") for name in config.get("architectures") or []
    )


def read_config(folder: Path) -> dict[str, Any] | None:
    try:
        config = json.loads((folder / "config.json").read_text())
    except (OSError, ValueError):
        return None
    return config if isinstance(config, dict) else None


def gguf_model(path: Path, name: str) -> LocalModel:
    """A GGUF file described from its header (with the `gguf` package, where installed)."""
    architecture, quantization = "?", ""
    try:
        from gguf import GGUFReader, LlamaFileType

        fields = GGUFReader(path).fields
        architecture = fields["general.architecture"].contents()
        if "general.file_type" in fields:
            file_type = LlamaFileType(fields["general.file_type"].contents())
            quantization = f" {file_type.name.removeprefix('MOSTLY_').removeprefix('ALL_')}"
    except (ImportError, OSError, ValueError, KeyError, IndexError):
        pass
    return LocalModel(
        name, path, f"{architecture}{quantization}", "GGUF causal LM", path.stat().st_size, ()
    )


def local_gguf_files(models_dir: Path) -> list[LocalModel]:
    """GGUF files in `models_dir` and in the folders `models pull REPO FILE` makes there."""
    files = [*models_dir.glob(f"*{GGUF_SUFFIX}"), *models_dir.glob(f"*/*{GGUF_SUFFIX}")]
    return [
        gguf_model(path, str(path.relative_to(models_dir)).replace("--", "/"))
        for path in sorted(files)
    ]


def local_models(models_dir: Path) -> list[LocalModel]:
    """Model folders in `models_dir` (those with a config.json) and GGUF files."""
    found: list[LocalModel] = []
    if not models_dir.is_dir():
        return found
    found.extend(local_gguf_files(models_dir))
    folders = sorted(p for p in models_dir.iterdir() if (p / "config.json").is_file())
    for folder in folders:
        config = read_config(folder)
        if config is None or ".ct2-" in folder.name:  # a CTranslate2 copy, listed with its source
            continue
        architecture = ",".join(config.get("architectures") or [config.get("model_type", "?")])
        kind = "causal LM" if is_causal(config) else "seq2seq"
        size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
        converted = tuple(
            p.name.rsplit("-", 1)[-1]
            for p in folders
            if p.name.startswith(f"{folder.name}.ct2-") and (p / "model.bin").is_file()
        )
        found.append(
            LocalModel(folder.name.replace("--", "/"), folder, architecture, kind, size, converted)
        )
    return found


def resolve_gguf(spec: str, models_dir: Path) -> Path:
    """A GGUF file: a path, OWNER/REPO/FILE.gguf pulled into `models_dir`, or the same in the
    Hugging Face cache; raises ModelLoadError naming where it looked."""
    candidate = Path(spec).expanduser()
    if candidate.is_file():
        return candidate
    repo, _, file = spec.rpartition("/")
    if repo.count("/") == 1:
        pulled = models_dir / folder_name(repo) / file
        if pulled.is_file():
            return pulled
        try:
            from huggingface_hub import try_to_load_from_cache

            cached = try_to_load_from_cache(repo, file)
        except ImportError:
            cached = None
        if isinstance(cached, str):
            return Path(cached)
        raise ModelLoadError(
            f"GGUF file {file} of {repo} is not in {models_dir}/ or the Hugging Face cache; "
            f"run `briefbot models pull {repo} {file}` where the network allows"
        )
    raise ModelLoadError(
        f"GGUF file {spec} does not exist (give a path, or OWNER/REPO/FILE.gguf pulled with "
        "`briefbot models pull OWNER/REPO FILE.gguf`)"
    )


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
    server: ServerOptions | None = None,
) -> Summarizer:
    """Load the summarizer named by `spec`; raises ModelLoadError, never falls back silently.

    `spec` is "embedded", a folder with a Hugging Face model (seq2seq, or a causal LM with a
    chat template, told apart by its config), the name of a model pulled into `models_dir`,
    or a hub name already in the Hugging Face cache.
    """
    if spec == EMBEDDED_MODEL:
        from briefbot.models.embedded import EmbeddedSummarizer

        summarizer = EmbeddedSummarizer.load(threads=threads)
        logger.info("Loaded summarizer %s", summarizer.name)
        return summarizer

    runtime = runtime or RuntimeOptions(threads=threads)
    if runtime.engine == "openai":
        if server is None:
            raise ModelLoadError(
                "BRIEFBOT_RUNTIME=openai needs BRIEFBOT_MODEL_URL, the server's API address "
                "(e.g. http://gpu-box:8000/v1), and BRIEFBOT_MODEL, the name it serves"
            )
        return ServedSummarizer.connect(spec, server, generation)
    if spec.lower().endswith(GGUF_SUFFIX):
        from briefbot.models.llamacpp import LlamaCppSummarizer

        return LlamaCppSummarizer.load(
            resolve_gguf(spec, models_dir), source=spec, runtime=runtime, generation=generation
        )
    folder = resolve_model_folder(spec, models_dir)
    config = read_config(folder) if folder is not None else _cached_config(spec)
    if config is not None and is_causal(config):
        if runtime.engine == "ctranslate2":
            if folder is None:
                raise ModelLoadError(
                    f"the ctranslate2 runtime converts local folders: run "
                    f"`briefbot models pull {spec}` first"
                )
            from briefbot.models.ct2 import CTranslate2CausalSummarizer

            return CTranslate2CausalSummarizer.load_converted(
                folder, models_dir, source=spec, runtime=runtime, generation=generation
            )
        from briefbot.models.causal import CausalSummarizer

        return CausalSummarizer.load(
            folder or spec,
            source=spec,
            runtime=runtime,
            generation=generation,
            local_only=True,
        )
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


def _cached_config(spec: str) -> dict[str, Any] | None:
    """The config of a hub model already in the Hugging Face cache (never downloads)."""
    if Path(spec).expanduser().is_absolute() or spec.startswith(".") or spec.count("/") != 1:
        return None
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    path = try_to_load_from_cache(spec, "config.json")
    return read_config(Path(path).parent) if isinstance(path, str) else None


def pull_model(spec: str, models_dir: Path, file: str | None = None) -> Path:
    """Download a hub model into `models_dir` for offline use: the whole Hugging Face model,
    or one `file` of a repository of GGUF files. Returns the folder or the file; raises
    ModelLoadError."""
    from huggingface_hub import hf_hub_download, snapshot_download
    from huggingface_hub.errors import HfHubHTTPError

    target = models_dir / folder_name(spec)
    try:
        if file is not None:
            return Path(hf_hub_download(repo_id=spec, filename=file, local_dir=target))
        snapshot_download(
            repo_id=spec,
            local_dir=target,
            allow_patterns=["*.json", "*.safetensors", "*.model", "*.txt", "*.spm", "*.jinja"],
        )
    except (HfHubHTTPError, OSError, ValueError) as exc:
        what = f"{file} of {spec!r}" if file else repr(spec)
        raise ModelLoadError(f"cannot download {what}: {str(exc).splitlines()[0]}") from exc
    return target
