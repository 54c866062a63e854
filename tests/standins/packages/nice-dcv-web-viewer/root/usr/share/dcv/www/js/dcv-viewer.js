// TEST DOUBLE: dcvkit stand-in web viewer asset (not Amazon DCV).
document.title = "DCV web viewer stand-in";
