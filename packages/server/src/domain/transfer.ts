/**
 * A volume transfer offer (Cinder's `transfers` row). The auth key is never stored: `salt` and `crypt_hash`
 * check the one the accepting project presents.
 */
export interface Transfer {
  id: string;
  volume_id: string;
  display_name: string | null;
  salt: string;
  crypt_hash: string;
  /** 3.55: the volume's snapshots stay behind (and keep their project). */
  no_snapshots: boolean;
  source_project_id: string;
  destination_project_id: string | null;
  accepted: boolean;
  created_at: string;
  updated_at: string | null;
}
