/** The submit form's model.json field: reads the file with progress, summarises it, and puts its topology in the form. */
import { useState } from 'react';
import type { UploadProgress } from './api.ts';
import { formatBytes } from './format.ts';
import { topologyFromModelJson } from './job-form.ts';
import { BoundField, controlProps, useJobForm } from './JobFormFields.tsx';
import { ProgressBar } from './ProgressBar.tsx';

interface TopologyFile {
  readonly fileName: string;
  readonly bytes: number;
  readonly className: string;
  readonly layers: number | null;
}

export function TopologyField() {
  const { errors, set, setError } = useJobForm();
  const [topologyFile, setTopologyFile] = useState<TopologyFile | null>(null);
  const [topologyRead, setTopologyRead] = useState<UploadProgress | null>(null);

  const readTopology = (file: File | null): void => {
    setTopologyFile(null);
    set('topology', null);
    if (file === null) return;
    const reader = new FileReader();
    setTopologyRead({ loaded: 0, total: file.size });
    reader.onprogress = (e) =>
      setTopologyRead({ loaded: e.loaded, total: e.lengthComputable ? e.total : file.size });
    reader.onerror = () => {
      setTopologyRead(null);
      setError('topology', `could not read ${file.name}`);
    };
    reader.onload = () => {
      setTopologyRead({ loaded: file.size, total: file.size });
      try {
        const topology = topologyFromModelJson(typeof reader.result === 'string' ? reader.result : '');
        const config = topology.config as { layers?: unknown } | undefined;
        setTopologyFile({
          fileName: file.name,
          bytes: file.size,
          className: typeof topology.class_name === 'string' ? topology.class_name : 'unknown',
          layers: Array.isArray(config?.layers) ? config.layers.length : null,
        });
        set('topology', topology);
      } catch (error) {
        setError('topology', `${file.name}: ${(error as Error).message}`);
      }
    };
    reader.readAsText(file);
  };

  return (
    <BoundField field="topology" label="Model topology (a TF.js layers model.json; weights are not needed)">
      <input
        {...controlProps('topology', errors)}
        type="file"
        accept=".json,application/json"
        onChange={(e) => readTopology(e.target.files?.[0] ?? null)}
      />
      {topologyRead !== null && (
        <ProgressBar
          label="Reading model.json"
          testId="topology-progress"
          fraction={topologyRead.total ? topologyRead.loaded / topologyRead.total : null}
          text={`read ${formatBytes(topologyRead.loaded)} of ${formatBytes(topologyRead.total)}`}
        />
      )}
      {topologyFile !== null && (
        <p className="detail" data-testid="topology-summary">
          {topologyFile.fileName}: {topologyFile.className}
          {topologyFile.layers !== null && `, ${topologyFile.layers} layers`},{' '}
          {formatBytes(topologyFile.bytes)}. It is sent with the job spec.
        </p>
      )}
    </BoundField>
  );
}
