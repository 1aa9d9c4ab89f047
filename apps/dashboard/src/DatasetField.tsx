/**
 * The submit form's dataset: the built-in MNIST and every dataset the coordinator holds, what the
 * chosen one contains (with a CSV's column summary), and an upload whose result is selected at once.
 */
import { useEffect, useState } from 'react';
import type { DatasetSummary } from './api.ts';
import { DatasetColumns } from './DatasetColumns.tsx';
import { DatasetUpload } from './DatasetUpload.tsx';
import { formatNumber } from './format.ts';
import { BoundField, controlProps, useJobForm } from './JobFormFields.tsx';
import { useServices } from './services.ts';

const BUILT_IN: DatasetSummary = {
  id: 'mnist',
  name: 'MNIST digits (built in)',
  source: 'builtin',
  featureShape: [28, 28, 1],
  numClasses: 10,
  trainSize: 8000,
  testSize: 2000,
};

/** The built-in text corpus, prepared by the coordinator on first use (server/src/datasets/moby-dick.ts). */
const MOBY_DICK: DatasetSummary = {
  id: 'moby-dick',
  name: 'Moby Dick, character level (built in)',
  source: 'builtin',
  featureShape: [64],
  labelShape: [64],
  numClasses: 83,
  trainSize: 16_738,
  testSize: 1_859,
};
const BUILT_INS = [BUILT_IN, MOBY_DICK];

export function DatasetField({ canWrite }: { readonly canWrite: boolean }) {
  const { api } = useServices();
  const { form, errors, set } = useJobForm();
  const [datasets, setDatasets] = useState<readonly DatasetSummary[]>(BUILT_INS);

  useEffect(() => {
    let live = true;
    api.datasets().then(
      (list) => {
        if (live) setDatasets([...BUILT_INS, ...list.filter((d) => !BUILT_INS.some((b) => b.id === d.id))]);
      },
      () => undefined, // the built-in dataset is always there; uploads still work
    );
    return () => {
      live = false;
    };
  }, [api]);

  const onUploaded = (dataset: DatasetSummary): void => {
    setDatasets((list) => [...list.filter((d) => d.id !== dataset.id), dataset]);
    set('dataset', dataset.id);
  };

  const info = datasets.find((d) => d.id === form.dataset);
  return (
    <>
      <BoundField
        field="dataset"
        label="Dataset"
        hint={
          info === undefined ? undefined : (
            <>
              {formatNumber(info.trainSize)} training / {formatNumber(info.testSize)} test samples, shape [
              {info.featureShape.join(', ')}], {info.numClasses} classes.
            </>
          )
        }
      >
        <select
          {...controlProps('dataset', errors)}
          value={form.dataset}
          onChange={(e) => set('dataset', e.target.value)}
        >
          {!datasets.some((d) => d.id === form.dataset) && (
            <option value={form.dataset}>{form.dataset}</option>
          )}
          {datasets.map((d) => (
            <option key={d.id} value={d.id}>
              {d.name} ({d.id})
            </option>
          ))}
        </select>
      </BoundField>
      <DatasetColumns summary={info?.columnSummary} />
      <details className="upload-details">
        <summary>Upload a dataset</summary>
        <DatasetUpload canWrite={canWrite} onUploaded={onUploaded} />
      </details>
    </>
  );
}
