/**
 * The one message that hands the trainer's worker the two channels of the model averaging: the
 * averaging requests (averaging-protocol) and the link bridge (bridge-protocol).
 */
export interface AveragingPorts {
  readonly kind: 'averaging-ports';
  readonly control: MessagePort;
  readonly links: MessagePort;
}

export function isAveragingPorts(data: unknown): data is AveragingPorts {
  const d = data as Partial<AveragingPorts> | null;
  return (
    typeof d === 'object' &&
    d !== null &&
    d.kind === 'averaging-ports' &&
    d.control instanceof MessagePort &&
    d.links instanceof MessagePort
  );
}
