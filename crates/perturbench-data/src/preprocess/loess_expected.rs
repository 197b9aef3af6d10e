// scikit-misc 0.5.3 (see the test): default (interpolated) and surface='direct' fits.
const SKMISC_INTERP: [f64; 3] = [0.03568220125066844, 0.12527426356954136, -0.36707648949959865];
const SKMISC_DIRECT: [f64; 3] = [0.034726432751843034, 0.12527426356954138, -0.3664729108438906];
