"""The Teach view: question/answer pairs, LoRA training with a live loss curve,
and the adapters trained so far."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

from PySide6.QtCharts import QChart, QChartView, QLineSeries, QValueAxis
from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QKeySequence, QPainter, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListView,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from assistant.core.errors import AssistantError
from assistant.core.teach.adapters import AdapterRecord, AdapterStore
from assistant.core.teach.pairs import load_pairs, save_pairs
from assistant.core.teach.reading_examples import ExamplesProgress
from assistant.core.teach.trainer import LoraSettings, TrainProgress
from assistant.core.time_left import format_time_left
from assistant.ui.models.teach_models import AdaptersModel, PairsTableModel
from assistant.ui.theme import is_dark

PHASES = {
    "loading": "Loading the base model for training (about a minute)…",
    "exporting": "Writing the GGUF adapter…",
    "verifying": "Checking that llama.cpp loads the adapter…",
}


class LossChart(QChartView):
    def __init__(self) -> None:
        self.series = QLineSeries()
        self.series.setName("training loss")
        chart = QChart()
        chart.addSeries(self.series)
        chart.legend().hide()
        chart.setTitle("Loss per step")
        self.x_axis = QValueAxis()
        self.x_axis.setLabelFormat("%d")
        self.x_axis.setTitleText("step")
        self.y_axis = QValueAxis()
        self.y_axis.setTitleText("loss")
        chart.addAxis(self.x_axis, Qt.AlignmentFlag.AlignBottom)
        chart.addAxis(self.y_axis, Qt.AlignmentFlag.AlignLeft)
        self.series.attachAxis(self.x_axis)
        self.series.attachAxis(self.y_axis)
        super().__init__(chart)
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setMinimumHeight(200)
        self.follow_theme()
        self.reset(1)

    def follow_theme(self) -> None:
        """Charts draw with a theme of their own, not the palette: pick the one
        that matches it (white on a dark window otherwise)."""
        theme = (
            QChart.ChartTheme.ChartThemeDark
            if is_dark()
            else QChart.ChartTheme.ChartThemeLight
        )
        chart = self.chart()
        if chart.theme() != theme:
            chart.setTheme(theme)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 (Qt API)
        if event.type() == QEvent.Type.PaletteChange:
            self.follow_theme()
        super().changeEvent(event)

    def reset(self, total_steps: int) -> None:
        self.total_steps = total_steps
        self.series.clear()
        self.x_axis.setRange(0, max(1, total_steps))
        self.x_axis.setTickCount(min(11, max(2, total_steps + 1)))
        self.x_axis.applyNiceNumbers()
        self.y_axis.setRange(0, 1)
        self._top = 0.0

    def add(self, step: int, loss: float) -> None:
        self.series.append(step, loss)
        if loss > self._top:
            self._top = loss
            self.y_axis.setRange(0, loss * 1.1)

    def show_history(self, losses: list[tuple[int, float]]) -> None:
        self.reset(losses[-1][0] if losses else 1)
        for step, loss in losses:
            self.add(step, loss)


class TeachWindow(QWidget):
    """Signals:
    sig_train(object, str, object): pairs, adapter name, LoraSettings.
    sig_cancel(): Cancel pressed.
    sig_delete_adapter(str): the user confirmed deleting this adapter (the
        controller deletes it and refreshes the list).
    """

    sig_train = Signal(list, str, object)
    sig_teach_library = Signal(str, int)
    sig_cancel = Signal()
    sig_delete_adapter = Signal(str)

    def __init__(self, store: AdapterStore, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle("Teach the model")
        self.resize(1100, 680)
        self.store = store
        self.pairs = PairsTableModel()
        self.adapters = AdaptersModel()
        self.draft_path = store.root.parent / "teach-draft.jsonl"

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self._build_pairs_panel())
        splitter.addWidget(self._build_training_panel())
        splitter.setSizes([620, 480])
        layout = QVBoxLayout(self)
        intro = QLabel(
            "Teach the model answers it should know without looking them up: "
            "terminology, house style, facts. Each pair is learned with a small "
            "LoRA fine-tune on this computer; chat with it in the <i>Taught</i> modes."
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        layout.addWidget(splitter, 1)
        QShortcut(QKeySequence("Ctrl+N"), self, self.add_pair)
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self, self.close)
        QShortcut(QKeySequence.StandardKey.Close, self, self.close)  # Ctrl+W
        QShortcut(QKeySequence.StandardKey.Delete, self.table, self.delete_pairs)
        QShortcut(QKeySequence("Ctrl+I"), self, self.import_pairs)
        self._load_draft()
        self.refresh_adapters()
        self.set_training(False)

    # ---- construction ------------------------------------------------------------
    def _build_pairs_panel(self) -> QWidget:
        self.table = QTableView()
        self.table.setModel(self.pairs)
        self.table.setWordWrap(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.count_label = QLabel()
        for signal in (
            self.pairs.rowsInserted,
            self.pairs.rowsRemoved,
            self.pairs.modelReset,
            self.pairs.dataChanged,
        ):
            signal.connect(self._update_count)
        buttons = QHBoxLayout()
        for text, tip, slot in (
            ("Add", "Add a pair (Ctrl+N)", self.add_pair),
            ("Delete", "Delete the selected pairs (Del)", self.delete_pairs),
            ("Import…", "Import pairs from JSONL or CSV (Ctrl+I)", self.import_pairs),
            ("Save as…", "Save the pairs as JSONL", self.save_pairs_as),
        ):
            button = QPushButton(text)
            button.setToolTip(tip)
            button.clicked.connect(slot)
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.count_label)
        box = QGroupBox("Question / answer pairs")
        inner = QVBoxLayout(box)
        inner.addLayout(buttons)
        inner.addWidget(self.table, 1)
        return box

    def _build_training_panel(self) -> QWidget:
        defaults = LoraSettings()
        self.name_edit = QLineEdit(time.strftime("taught-%Y%m%d-%H%M"))
        self.epochs = QSpinBox(minimum=1, maximum=100, value=defaults.epochs)
        self.learning_rate = QDoubleSpinBox(
            decimals=5, minimum=1e-5, maximum=1e-2, singleStep=1e-4
        )
        self.learning_rate.setValue(defaults.learning_rate)
        self.rank = QSpinBox(minimum=1, maximum=128, value=defaults.rank)
        self.batch = QSpinBox(minimum=1, maximum=32, value=defaults.batch_size)
        form = QFormLayout()
        form.addRow("Epochs", self.epochs)
        form.addRow("Learning rate", self.learning_rate)
        form.addRow("LoRA rank", self.rank)
        form.addRow("Batch size", self.batch)
        self.start_button = QPushButton("Start training")
        self.start_button.setToolTip("Train an adapter on the pairs (Ctrl+Return)")
        self.start_button.clicked.connect(self.start)
        QShortcut(QKeySequence("Ctrl+Return"), self, self.start)
        self.library_button = QPushButton("Teach from my library")
        self.library_button.setToolTip(
            "Teach the model to read excerpts of your documents: it writes "
            "questions about them, then learns to answer from what the search "
            "finds (hours; Stop keeps what is done, Start again goes on)"
        )
        self.library_button.clicked.connect(self.teach_library)
        self.library_limit = QSpinBox(minimum=2, maximum=5000, value=300)
        self.library_limit.setToolTip("How many examples to make from the library")
        self.cancel_button = QPushButton("Stop")
        self.cancel_button.clicked.connect(self.cancel)
        self.progress = QProgressBar()
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.chart = LossChart()
        run = QHBoxLayout()
        run.addWidget(self.cancel_button)
        run.addWidget(self.progress, 1)
        pairs_box = QGroupBox("From the pairs")
        pairs_layout = QVBoxLayout(pairs_box)
        pairs_layout.addLayout(form)
        pairs_layout.addWidget(self.start_button, 0, Qt.AlignmentFlag.AlignLeft)
        library_box = QGroupBox("From my library")
        library_layout = QVBoxLayout(library_box)
        explain = QLabel(
            "Learns to answer from the excerpts the search finds, on questions "
            "it writes about your documents. Hours; Stop keeps what is done."
        )
        explain.setWordWrap(True)
        library_layout.addWidget(explain)
        library_row = QHBoxLayout()
        library_row.addWidget(self.library_limit)
        library_row.addWidget(QLabel("examples"))
        library_row.addStretch(1)
        library_layout.addLayout(library_row)
        library_layout.addStretch(1)
        library_layout.addWidget(self.library_button, 0, Qt.AlignmentFlag.AlignLeft)
        library_box.setToolTip(
            "Its own settings (LoRA rank 8, one pass over the examples): the "
            "fields above are for the pairs"
        )
        name_row = QFormLayout()
        name_row.addRow("Adapter name", self.name_edit)

        self.adapter_list = QListView()
        self.adapter_list.setModel(self.adapters)
        self.adapter_list.clicked.connect(self._on_adapter_clicked)
        delete = QPushButton("Delete adapter")
        delete.clicked.connect(self.delete_adapter)
        adapters_box = QGroupBox("Adapters (newest first)")
        inner = QVBoxLayout(adapters_box)
        inner.addWidget(self.adapter_list)
        inner.addWidget(delete, 0, Qt.AlignmentFlag.AlignRight)

        panel = QWidget()
        layout = QVBoxLayout(panel)
        settings_box = QGroupBox("Training")
        settings_layout = QVBoxLayout(settings_box)
        settings_layout.addLayout(name_row)
        sources = QHBoxLayout()
        sources.addWidget(pairs_box, 1)
        sources.addWidget(library_box, 1)
        settings_layout.addLayout(sources)
        settings_layout.addLayout(run)
        settings_layout.addWidget(self.status)
        layout.addWidget(settings_box)
        layout.addWidget(self.chart, 1)
        layout.addWidget(adapters_box)
        return panel

    # ---- pairs -------------------------------------------------------------------
    def _update_count(self) -> None:
        self.count_label.setText(f"{len(self.pairs.pairs())} complete pairs")

    def add_pair(self) -> None:
        row = self.pairs.add_pair()
        index = self.pairs.index(row, 0)
        self.table.setCurrentIndex(index)
        self.table.edit(index)

    def delete_pairs(self) -> None:
        rows = [i.row() for i in self.table.selectionModel().selectedRows()]
        self.pairs.remove_rows(rows)

    def import_pairs(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Import pairs", "", "Pairs (*.jsonl *.json *.csv)"
        )
        if path:
            self.import_file(Path(path))

    def import_file(self, path: Path) -> bool:
        try:
            loaded = load_pairs(path)
        except AssistantError as exc:
            QMessageBox.warning(self, "Import pairs", str(exc))
            return False
        for pair in loaded:
            self.pairs.add_pair(pair)
        self.status.setText(f"Imported {len(loaded)} pairs from {path.name}.")
        return True

    def save_pairs_as(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Save pairs", "pairs.jsonl", "JSON Lines (*.jsonl)"
        )
        if path:
            save_pairs(self.pairs.pairs(), Path(path))

    def _load_draft(self) -> None:
        if self.draft_path.is_file():
            with contextlib.suppress(AssistantError):
                self.pairs.set_pairs(load_pairs(self.draft_path))
        self._update_count()

    def save_draft(self) -> None:
        pairs = self.pairs.pairs()
        if pairs:
            save_pairs(pairs, self.draft_path)
        else:
            self.draft_path.unlink(missing_ok=True)

    # ---- training ----------------------------------------------------------------
    def lora_settings(self) -> LoraSettings:
        return LoraSettings(
            epochs=self.epochs.value(),
            learning_rate=self.learning_rate.value(),
            rank=self.rank.value(),
            alpha=2.0 * self.rank.value(),
            batch_size=self.batch.value(),
        )

    def start(self) -> None:
        if not self.start_button.isEnabled():
            return
        pairs = self.pairs.pairs()
        incomplete = self.pairs.incomplete_rows()
        problem = ""
        if incomplete:
            rows = ", ".join(map(str, incomplete[:8]))
            problem = f"Rows {rows} have a question without an answer (or the reverse)."
        elif not pairs:
            problem = "Add some question/answer pairs first (Add, or Import…)."
        elif self.name_edit.text().strip() in self.adapters.names():
            problem = "An adapter with this name exists; choose another name."
        if problem:
            QMessageBox.information(self, "Teach the model", problem)
            return
        self.save_draft()
        settings = self.lora_settings()
        self.chart.reset(settings.total_steps(len(pairs)))
        self.set_training(True)
        self.status.setText(PHASES["loading"])
        self.sig_train.emit(pairs, self.name_edit.text().strip(), settings)

    def teach_library(self) -> None:
        if not self.library_button.isEnabled():
            return
        name = self.name_edit.text().strip()
        if name in self.adapters.names():
            QMessageBox.information(
                self,
                "Teach the model",
                "An adapter with this name exists; choose another name.",
            )
            return
        self.chart.reset(0)
        self.set_training(True)
        self.status.setText("Writing questions about your documents…")
        self.sig_teach_library.emit(name, self.library_limit.value())

    def cancel(self) -> None:
        self.cancel_button.setEnabled(False)
        self.status.setText("Stopping…")
        self.sig_cancel.emit()

    def set_training(self, training: bool) -> None:
        self.library_button.setEnabled(not training)
        self.start_button.setEnabled(not training)
        self.cancel_button.setEnabled(training)
        self.progress.setVisible(training)
        if training:
            self.progress.setRange(0, 0)

    def on_progress(self, p: TrainProgress | ExamplesProgress) -> None:
        if isinstance(p, ExamplesProgress):
            self.progress.setRange(0, p.wanted)
            self.progress.setValue(p.kept)
            self.progress.setFormat(f"example {p.kept}/{p.wanted}")
            self.status.setText(
                f"Writing questions about your documents: {p.kept} of {p.wanted} "
                f"examples kept ({p.tried} passages tried), "
                f"{format_time_left(p.seconds_left)}"
            )
            return
        if self.chart.total_steps != p.total_steps and p.phase == "training":
            self.chart.reset(p.total_steps)
        if p.phase != "training":
            self.progress.setRange(0, 0)
            self.status.setText(PHASES.get(p.phase, p.phase))
            return
        self.progress.setRange(0, p.total_steps)
        self.progress.setValue(p.step)
        self.progress.setFormat(f"step {p.step}/{p.total_steps}")
        if p.loss is not None:
            self.chart.add(p.step, p.loss)
        if p.loss is None:
            return
        self.status.setText(
            f"Epoch {p.epoch}, step {p.step} of {p.total_steps}, loss {p.loss:.4f}"
            + ("" if p.eta_s is None else f", {format_time_left(p.eta_s)}")
        )

    def on_finished(self, record: AdapterRecord) -> None:
        self.set_training(False)
        self.status.setText(
            f"Adapter \u201c{record.name}\u201d is ready ({record.total_s:.0f} s). "
            f"Check \u2014 {record.check_question} \u2192 {record.check_answer}\n"
            "Use it in the chat with the Taught modes."
        )
        self.name_edit.setText(time.strftime("taught-%Y%m%d-%H%M%S"))
        self.refresh_adapters()

    def on_cancelled(self) -> None:
        self.set_training(False)
        self.status.setText(
            "Stopped; no adapter was saved. (Teaching from the library keeps its "
            "examples and training so far: start it again with the same name to "
            "go on.)"
        )

    def on_failed(self, message: str) -> None:
        self.set_training(False)
        self.status.setText(f"Training failed: {message}")
        QMessageBox.warning(self, "Teach the model", message)

    # ---- adapters ----------------------------------------------------------------
    def refresh_adapters(self) -> None:
        self.adapters.set_records(self.store.records())

    def _on_adapter_clicked(self) -> None:
        index = self.adapter_list.currentIndex()
        record = self.adapters.data(index, AdaptersModel.RecordRole)
        if record is not None:
            self.chart.show_history(record.losses)

    def delete_adapter(self) -> None:
        index = self.adapter_list.currentIndex()
        record = self.adapters.data(index, AdaptersModel.RecordRole)
        if record is None:
            return
        answer = QMessageBox.question(
            self, "Delete adapter", f"Delete the adapter \u201c{record.name}\u201d?"
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.sig_delete_adapter.emit(record.name)

    def closeEvent(self, event: object) -> None:  # noqa: N802 (Qt API)
        self.save_draft()
        super().closeEvent(event)  # type: ignore[arg-type]
